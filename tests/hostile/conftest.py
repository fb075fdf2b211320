import logging
import traceback

import pytest
from django.core.signals import got_request_exception

from tests.hostile import payloads as hc
from tests.hostile.harness import TALLY
from tests.hostile.portal_forms import WEB_FORMS, WEB_QUERIES
from tests.hostile.schema import OPERATIONS
from tests.hostile.world import world  # noqa: F401 - the world every payload meets


@pytest.fixture(scope="package", autouse=True)
def corpus_size():
    """Print (pytest -s) how many hostile requests this package sent, by surface."""
    TALLY.clear()
    axes = logging.getLogger("axes")
    level, axes.level = axes.level, logging.ERROR  # a thousand failed sign-ins and forced logins, one line each
    yield
    axes.setLevel(level)
    payloads = len(hc.PAYLOADS) + len(hc.uploads()) + len(hc.BAD_VERSIONS) + len(hc.BAD_IF_MATCH) + len(hc.BAD_IDS)
    endpoints = len(WEB_FORMS) + len(WEB_QUERIES) + len(OPERATIONS)
    print(
        f"\nhostile corpus: {payloads} payloads (+ whole-request variants) over {endpoints} endpoints "
        f"({len(WEB_FORMS)} portal forms, {len(WEB_QUERIES)} portal query strings, {len(OPERATIONS)} API operations): "
        f"{TALLY['web']} portal and {TALLY['api']} API requests judged, {TALLY['display']} payloads rendered "
        "on the case page, the API and the PDF"
    )


@pytest.fixture
def server_errors():
    """Tracebacks of exceptions the views raised (the clients answer them as 500 instead of raising)."""
    caught = []

    def receive(sender, request=None, **kwargs):
        caught.append(traceback.format_exc(limit=-6))

    got_request_exception.connect(receive)
    yield caught
    got_request_exception.disconnect(receive)
