"""One harness for the portal and the API: snapshot every table, send in a savepoint that is rolled
back, judge the answer, compare the tables after.

A portal form and an API operation differ in how a body is encoded and sent and in what an accepted
answer looks like: an `Endpoint` carries those (tests/hostile/test_portal_forms.py and
test_api_writes.py build one), and the steps below are the same for both.
"""

import json
import re
from collections import Counter
from collections.abc import Callable, Container
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from cases import models as m
from tests.hostile import payloads as hc

TALLY: Counter = Counter()  # requests sent, by surface, for the corpus size printed at the end

# What "changed nothing" means ---------------------------------------------------------------

# Every table of the application, users' credentials and API tokens. Audit rows of sign-in (auth.*),
# of refused probes (access.*) and of reads (*.view) record that a request came, not a change; the
# chain head moves with them.
SNAPSHOT_MODELS = [
    *apps.get_app_config("cases").get_models(include_auto_created=True),
    *apps.get_app_config("knox").get_models(),
]


def columns(model) -> list[str]:
    if model._meta.app_label == "auth":
        return ["username", "password", "is_active"]
    return [f.attname for f in model._meta.concrete_fields]


def snapshot() -> dict:
    """{model: {pk: row}} of every table above."""
    state = {}
    for model in [*SNAPSHOT_MODELS, apps.get_model("auth", "User")]:
        if model is m.AuditDatabase:
            continue
        rows = model._base_manager.order_by("pk")
        if model is m.AuditEvent:
            rows = rows.exclude(action__startswith="auth.").exclude(action__startswith="access.")
            rows = rows.exclude(action__endswith=".view").exclude(action__endswith=".list")  # reads
        state[model] = {row[0]: row[1:] for row in rows.values_list("pk", *columns(model))}
    return state


def changed_rows(before: dict, after: dict) -> list[tuple]:
    """(model, row as a dict) of every row that is new or different."""
    return [
        (model, dict(zip(columns(model), row, strict=True)))
        for model, rows in after.items()
        for pk, row in rows.items()
        if before[model].get(pk) != row
    ]


def describe_change(before: dict, after: dict) -> str:
    parts = []
    for model in after:
        added = len(after[model].keys() - before[model].keys())
        removed = len(before[model].keys() - after[model].keys())
        changed = sum(1 for pk in after[model].keys() & before[model].keys() if after[model][pk] != before[model][pk])
        if added or removed or changed:
            parts.append(f"{model.__name__}: +{added} -{removed} ~{changed}")
    return ", ".join(parts)


class _RolledBack(Exception):
    pass


@contextmanager
def rolled_back():
    try:
        with transaction.atomic():
            yield
            raise _RolledBack
    except _RolledBack:
        pass


# Judging one answer -------------------------------------------------------------------------


@dataclass
class Verdicts:
    surface: str
    endpoint: str
    problems: list = field(default_factory=list)
    sent: int = 0
    accepted_text: int = 0

    def problem(self, payload: str, text: str) -> None:
        self.problems.append(f"{self.surface} {self.endpoint} ← {payload}: {text}")

    def assert_none(self) -> None:
        TALLY[self.surface] += self.sent
        print(f"\n{self.surface} {self.endpoint}: {self.sent} hostile requests, {self.accepted_text} text stored")
        assert not self.problems, "\n".join(self.problems)


def api_message(response) -> str:
    """The message of an API refusal: `detail`, or the field errors (DRF's shape)."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    if isinstance(body.get("detail"), str) and body["detail"].strip():
        return body["detail"]
    messages = [str(v) for value in body.values() for v in (value if isinstance(value, list) else [value])]
    return "; ".join(messages)


def web_message(response) -> str:
    """A portal refusal shows the form again with its errors, or a friendly error page."""
    page = response.content.decode("utf-8", "replace")
    if page.strip() and "<" not in page:
        return page  # a bare sentence (the PDF downloads' refusal of a flag)
    for marker in ('class="form-errors"', 'class="card narrow error-page"', 'class="errorlist'):
        if marker in page:
            return marker
    return ""


COLUMN_ALIASES = {
    "reason": [
        "deviation_reason",
        "supersede_reason",
        "deferral_reason",
        "note",
        "reason",
        "cancel_reason",
        "correction_reason",
        "withdrawal_reason",
    ],  # note: on the timeline
    "caption_1": ["caption"],
    "caption": ["caption"],
    "comment": ["review_comment"],  # acknowledging an emergency access
}


def stored_exactly(value: str, field_name: str, rows: list[tuple]) -> bool:
    """Some changed row holds `value` exactly in the column the field writes (aliases above)."""
    columns = ["plan"] if field_name.startswith("detail_") else COLUMN_ALIASES.get(field_name, [field_name])
    for _model, row in rows:
        for column in columns:
            stored = row.get(column)
            if stored == value:
                return True
            if column == "plan" and isinstance(stored, list) and any(i.get("detail") == value for i in stored):
                return True
    return False


def judge(verdicts, label, response, errors, before, *, expect, message, poisoned=None):
    """Whether one answer kept the promise, by `expect`:

    - "refused": a 4xx with a message, and every row as it was;
    - "stored": accepted, each poisoned field stored exactly as sent (valid text where text belongs);
    - "either": stored exactly, or refused like an invalid payload (text in a sign-in, a search);
    - "redirect": accepted, and any redirect stays on this site (`next`).
    """
    verdicts.sent += 1
    status = response.status_code
    if status >= 500:
        where = errors[-1].strip().splitlines()[-3:] if errors else []
        verdicts.problem(label, f"{status}: " + " | ".join(line.strip() for line in where))
        return None
    after = snapshot()
    if expect == "redirect":
        location = response.get("Location", "")
        if status in (301, 302, 303) and not (location.startswith("/") and not location.startswith(("//", "/\\"))):
            verdicts.problem(label, f"redirected off the site to {location!r}")
        return after
    if expect in ("stored", "either") and 200 <= status < 400:
        rows = changed_rows(before, after)
        lost = [name for name, value in (poisoned or {}).items() if not stored_exactly(value, name, rows)]
        if lost:
            verdicts.problem(label, f"accepted ({status}) but did not store exactly: {lost}")
        verdicts.accepted_text += 1
        return after
    if expect == "stored":
        verdicts.problem(label, f"valid text was refused ({status}): {message(response)[:200]}")
    elif not 400 <= status < 500:
        verdicts.problem(label, f"expected a 4xx refusal, got {status} ({describe_change(before, after)})")
    elif not message(response):
        verdicts.problem(label, f"{status} without a message: {response.content[:200]!r}")
    if after != before:
        verdicts.problem(label, f"{status} but changed {describe_change(before, after)}")
    return after


def text_expectation(payload: hc.Payload, stores_text: bool) -> str:
    if not payload.text:
        return "redirect" if payload.kinds == {hc.REDIRECT} else "refused"
    return "stored" if stores_text else "either"


def check_stored_images(verdicts: Verdicts, upload: hc.Upload, client) -> None:
    """An accepted image is stored under a random name in key-images/, whatever it was called, and
    leaves the server as an image or as bytes, never as a page of this site."""
    root = Path(settings.MEDIA_ROOT).resolve()
    for image in m.KeyImage.objects.all():
        path = Path(image.image.path).resolve()
        if root / "key-images" not in path.parents:
            verdicts.problem(upload.name, f"stored outside key-images/: {path}")
        if not re.fullmatch(r"[0-9a-f]{32}", Path(image.image.name).stem):
            verdicts.problem(upload.name, f"stored under a name taken from the upload: {image.image.name}")
        served = client.get(reverse("key-image", args=[image.pk]))
        if not served["Content-Type"].startswith(("image/", "application/octet-stream")):
            verdicts.problem(upload.name, f"served as {served['Content-Type']}")


# Writes: one form or operation, every payload --------------------------------------------------


@dataclass(frozen=True)
class Surface:
    name: str  # "web" or "api": which payloads it carries (Payload.web, Payload.api)
    message: Callable  # response -> the message of a refusal
    accepted: Container[int]  # the status of an accepted request
    answer_types: frozenset = frozenset()  # the content types a refusal may have (any when empty)


PORTAL = Surface("web", web_message, accepted={302})
# FHIR endpoints refuse with an OperationOutcome (application/fhir+json).
API = Surface("api", api_message, range(200, 300), frozenset({"application/json", "application/fhir+json"}))


@dataclass
class Endpoint:
    """A portal form or an API operation, ready for the corpus."""

    surface: Surface
    name: str  # the URL name or the operationId
    errors: list  # tracebacks of the views (the server_errors fixture)
    client: object
    before: dict  # the snapshot every attempt is compared with (each is rolled back)
    base: dict | None  # a valid body; None: the endpoint reads none
    fields: dict  # field -> (kind, max_length)
    post: Callable  # (data, upload=None) -> response: `data` encoded as the endpoint reads it
    refusals: list  # (label, () -> response): whole requests that must be refused
    role: str | None  # None: anonymous (a sign-in form is not expected to accept its valid body)
    stores_text: bool = True  # a valid text payload must be accepted and stored
    kept: Callable | None = None  # value -> bool, for text that is not stored in clear (a password)
    verdicts: Verdicts = field(init=False)

    def __post_init__(self):
        self.verdicts = Verdicts(self.surface.name, self.name)

    def carries(self, payload: hc.Payload) -> bool:
        """A multipart body (a file field) holds strings only, not JSON arrays and objects."""
        multipart = any(kind == hc.FILE for kind, _ in self.fields.values())
        scalar = isinstance(payload.value, str | bytes | int)
        return (payload.web if self.surface is PORTAL else payload.api) and (scalar or not multipart)


def attempt(e: Endpoint, label: str, expect: str, send: Callable, poisoned: dict | None = None) -> None:
    with rolled_back():
        response = send()
        in_clear = {} if e.kept else poisoned  # a password is kept as a hash: checked below
        after = judge(
            e.verdicts, label, response, e.errors, e.before, expect=expect, message=e.surface.message, poisoned=in_clear
        )
        accepted = after is not None and after != e.before and response.status_code < 400
        if e.kept and accepted and not all(e.kept(value) for value in (poisoned or {}).values()):
            e.verdicts.problem(label, "accepted but the value was not kept exactly")
        answered_as = response.get("Content-Type", "").split(";")[0]
        if e.surface.answer_types and response.status_code >= 400 and answered_as not in e.surface.answer_types:
            e.verdicts.problem(label, f"{response.status_code} answered as {response.get('Content-Type')}")


def run_corpus(e: Endpoint) -> None:
    """The valid body, each payload into every field of its kind, overlong text, whole requests, files."""
    if e.base is not None:
        check_base_is_accepted(e)
        run_payloads(e)
        run_overlong(e)
    for label, send in e.refusals:
        attempt(e, label, "refused", send)
    if any(kind == hc.FILE for kind, _ in e.fields.values()):
        run_uploads(e)


def check_base_is_accepted(e: Endpoint) -> None:
    """The valid body goes through: the refusals are then caused by the payload, not by the world."""
    with rolled_back():
        response = e.post(e.base)
        if e.role is None:
            return
        if response.status_code not in e.surface.accepted:
            e.verdicts.problem("valid body", f"{response.status_code}: {response.content[:300]!r}")
        elif response.status_code == 302 and b'class="message error"' in e.client.get(response["Location"]).content:
            # Buttons report a refusal as a message after the redirect: the valid one must succeed.
            e.verdicts.problem("valid body", "the valid form was refused with a message")


def run_payloads(e: Endpoint) -> None:
    for payload in filter(e.carries, hc.PAYLOADS):
        targets = {name: limit for name, (kind, limit) in e.fields.items() if kind in payload.kinds}
        if not targets:
            continue
        data, poisoned = dict(e.base), {}
        for name, limit in targets.items():
            data[name] = poisoned[name] = payload.value[:limit] if payload.text and limit else payload.value
        expect = text_expectation(payload, e.stores_text)
        attempt(e, payload.name, expect, lambda data=data: e.post(data), poisoned)
        if payload.text and e.fields.get("plan", ("",))[0] == hc.OBJECT:  # the API's plan: a list of objects
            value = payload.value[:2000]
            data = e.base | {"plan": [{"category": "surveillance", "detail": value}]}
            attempt(e, f"{payload.name} in the plan", "stored", lambda data=data: e.post(data), {"plan": value})


def run_overlong(e: Endpoint) -> None:
    for name, (kind, limit) in e.fields.items():
        if kind == hc.TEXT and limit:
            data = e.base | {name: "x" * (limit + 1)}
            attempt(e, f"over-{limit}-characters in {name}", "refused", lambda data=data: e.post(data))


def run_uploads(e: Endpoint) -> None:
    for upload in hc.uploads():
        with rolled_back():
            response = e.post(e.base or {}, upload)
            if upload.is_image and response.status_code in e.surface.accepted:
                e.verdicts.sent += 1
                check_stored_images(e.verdicts, upload, e.client)
            else:
                message = e.surface.message
                judge(e.verdicts, upload.name, response, e.errors, e.before, expect="refused", message=message)


# Reads: query strings and paths ----------------------------------------------------------------


def run_reads(verdicts, client, path: str, kinds: dict, errors: list, *, message, lenient=frozenset()) -> None:
    """Each payload into every query parameter of its kind, then overlong text."""
    before = snapshot()
    for payload in hc.PAYLOADS:
        targets = [
            n for n, (k, _) in kinds.items() if k in payload.kinds and isinstance(payload.value, str | int | bytes)
        ]
        if not targets:
            continue
        params = dict.fromkeys(targets, payload.value)
        expect = "either" if payload.text or payload.filter_ok or set(targets) <= lenient else "refused"
        with rolled_back():
            response = client.get(f"{path}?{hc.query_string(params)}")
            label = f"?{','.join(targets)}={payload.name}"
            judge(verdicts, label, response, errors, before, expect=expect, message=message)
    for name, (kind, limit) in kinds.items():
        if kind == hc.TEXT and limit:
            with rolled_back():
                response = client.get(f"{path}?{hc.query_string({name: 'x' * (limit + 1)})}")
                judge(verdicts, f"?{name}=over-{limit}", response, errors, before, expect="refused", message=message)
