"""Reads never fail and change nothing: hostile query strings and ids in the path, on every API read
operation of the schema and every portal page that reads a query string."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.hostile import payloads as hc
from tests.hostile.api_operations import LENIENT_QUERY, RESOURCE_OBJECTS
from tests.hostile.harness import Verdicts, api_message, judge, rolled_back, run_reads, snapshot, web_message
from tests.hostile.portal_forms import LENIENT_PAGES, WEB_QUERIES
from tests.hostile.schema import OPERATIONS, READ_OPERATIONS, query_kinds


@pytest.mark.parametrize("op_id", READ_OPERATIONS)
def test_every_api_read_refuses_hostile_queries_and_paths(op_id, world, server_errors):
    _, path, op = OPERATIONS[op_id]
    resource = path.split("/")[3]
    assert resource in RESOURCE_OBJECTS, f"The API resource {resource!r} of {op_id} needs a row in RESOURCE_OBJECTS."
    client = APIClient(raise_request_exception=False)
    client.force_login(world.user("coordinator"))
    verdicts = Verdicts("api", op_id)
    concrete = path.replace("{id}", str(RESOURCE_OBJECTS[resource](world).pk))
    run_reads(verdicts, client, concrete, query_kinds(op), server_errors, message=api_message, lenient=LENIENT_QUERY)
    if "{id}" in path:
        before = snapshot()
        for bad in hc.BAD_IDS:
            with rolled_back():
                response = client.get(path.replace("{id}", bad))
                judge(verdicts, f"id {bad!r}", response, server_errors, before, expect="refused", message=api_message)
    verdicts.assert_none()


@pytest.mark.parametrize("name", sorted(WEB_QUERIES))
def test_portal_query_strings_never_fail_and_change_nothing(name, world, server_errors):
    args, kinds = WEB_QUERIES[name]
    client = Client(raise_request_exception=False)
    client.force_login(world.user("chair"))
    verdicts = Verdicts("web", f"{name} (query)")
    lenient = frozenset(kinds) if name in LENIENT_PAGES else frozenset()
    url = reverse(name, args=args(world))
    run_reads(verdicts, client, url, kinds, server_errors, message=web_message, lenient=lenient)
    verdicts.assert_none()
