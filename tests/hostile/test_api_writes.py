"""Every API operation that writes refuses hostile input and changes nothing; valid text is stored exactly.

Parametrized over every operation of the OpenAPI schema that is not a GET: an operation without an
entry in API_OPS (tests/hostile/api_operations.py) fails here, naming itself.
"""

import pytest
from rest_framework.test import APIClient

from tests.hostile import payloads as hc
from tests.hostile.api_operations import API_OPS, ApiOp
from tests.hostile.harness import API, Endpoint, run_corpus, snapshot
from tests.hostile.schema import OPERATIONS, WRITE_OPERATIONS, request_fields
from tests.hostile.world import PASSWORD


def etag(obj) -> str:
    return f'"{obj._meta.model_name}-{obj.pk}-v{obj.version}"'


def path_id(spec: ApiOp, world) -> object:
    """The {id} of the path: `id`, or else the pk of the object whose ETag goes in If-Match."""
    if spec.id:
        return spec.id(world)
    return spec.if_match(world).pk if spec.if_match else None


def api_endpoint(world, op_id: str, spec: ApiOp, errors: list) -> Endpoint:
    """An operation called as a client would (JSON, or multipart with an image), by its role."""
    method, template, op = OPERATIONS[op_id]
    client = APIClient(raise_request_exception=False)
    path = template.replace("{id}", str(path_id(spec, world)))
    fields = {name: (spec.kinds.get(name, kind), limit) for name, (kind, limit) in request_fields(op).items()}
    before = snapshot()
    base = spec.body(world) if spec.body else None

    def send(body: bytes | None, content_type: str = "application/json", path: str = path, **headers):
        if spec.role:
            client.force_login(world.user(spec.role))
        if spec.if_match is not None:
            target = spec.if_match(world)
            target.refresh_from_db()
            headers = {"HTTP_IF_MATCH": etag(target)} | headers
        if op_id == "v1_auth_logout_create":  # signing out ends a token: sign out with one
            client.logout()
            token = APIClient().post("/api/v1/auth/token/", {"username": spec.role, "password": PASSWORD})
            headers["HTTP_AUTHORIZATION"] = f"Token {token.json()['token']}"
        return client.generic(method, path, body or b"", content_type=content_type, **headers)

    def post(data: dict, upload: hc.Upload | None = None):
        if spec.multipart:
            return send(*hc.multipart(list(data.items()), [("image", upload or hc.png_upload())]))
        return send(hc.json_body(data))

    refusals = api_refusals(spec, template, base, fields, send)
    return Endpoint(API, op_id, errors, client, before, base, fields, post, refusals, spec.role, spec.stores_text)


def api_refusals(spec: ApiOp, template: str, base: dict | None, fields: dict, send) -> list:
    """Bodies that are not the JSON they claim, If-Match headers naming no version, ids that name nothing."""
    refusals = []
    if base is not None and spec.multipart:
        refusals.append(("json-instead-of-multipart", lambda: send(hc.json_body(base))))
    elif base is not None:
        text_field = next((n for n, (kind, _) in fields.items() if kind == hc.TEXT), next(iter(fields)))
        refusals += [(label, lambda b=b, c=c: send(b, c)) for label, (b, c) in hc.json_bodies(base, text_field).items()]
    body = None if base is None else hc.json_body(base)
    if spec.if_match is not None:
        refusals += [(f"If-Match {v[:30]!r}", lambda v=v: send(body, HTTP_IF_MATCH=v)) for v in hc.BAD_IF_MATCH]
    if "{id}" in template:
        for bad in hc.BAD_IDS:
            path = template.replace("{id}", bad)
            refusals.append((f"id {bad!r} in the path", lambda p=path: send(body, path=p)))
    return refusals


@pytest.mark.parametrize("op_id", WRITE_OPERATIONS)
def test_every_api_operation_refuses_hostile_input_and_changes_nothing(op_id, world, server_errors):
    assert op_id in API_OPS, f"The API operation {op_id} has no entry in API_OPS of tests/hostile/api_operations.py."
    endpoint = api_endpoint(world, op_id, API_OPS[op_id], server_errors)
    run_corpus(endpoint)
    endpoint.verdicts.assert_none()


def test_every_entry_of_the_operation_table_names_a_write_operation():
    """A renamed or removed operation leaves no entry behind that would quietly test nothing."""
    stale = API_OPS.keys() - set(WRITE_OPERATIONS)
    assert not stale, f"not a write operation of the OpenAPI schema: {sorted(stale)}"
