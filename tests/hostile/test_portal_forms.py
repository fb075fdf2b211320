"""Every portal form refuses hostile input and changes nothing; valid text is stored exactly.

Parametrized over every named view of cases/web/urls.py: a view that is neither in WEB_FORMS nor in
WEB_READ_ONLY (tests/hostile/portal_forms.py) fails here, naming itself.
"""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse

from cases.web import urls as web_urls
from tests.hostile import payloads as hc
from tests.hostile.harness import PORTAL, Endpoint, run_corpus, snapshot
from tests.hostile.portal_forms import WEB_FORMS, WEB_QUERIES, WEB_READ_ONLY, WebForm

FORM = "application/x-www-form-urlencoded"


def url_names(patterns) -> list[str]:
    names = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names += url_names(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.append(pattern.name)
    return names


PORTAL_VIEWS = url_names(web_urls.urlpatterns)


def real_field(name: str, data: dict) -> str:
    """`item-presenter` stands for the prefixed field of the agenda item form (`item-12-presenter`)."""
    if name.startswith("item-"):
        return next(key for key in data if key.startswith("item-") and key.endswith(name[5:]))
    return name


def form_max_lengths(response) -> dict:
    form = response.context.get("form") if response.status_code == 200 and response.context else None
    if form is None:
        return {}
    return {name: getattr(fld, "max_length", None) for name, fld in form.fields.items()}


def portal_endpoint(world, name: str, form: WebForm, errors: list) -> Endpoint:
    """A form posted as a browser would (urlencoded, or multipart with an image), by its role."""
    client = Client(raise_request_exception=False)
    if form.role:
        client.force_login(world.user(form.role))
    url = reverse(name, args=form.args(world))
    before = snapshot()
    max_lengths = form_max_lengths(client.get(url))  # POST-only views: none
    derive = form.derive or (lambda data: data)
    base = derive(dict(form.data(world)))

    def send(body: bytes, content_type: str, path: str = url):
        if form.stored:
            client.force_login(world.user(form.role))  # an accepted password change ends the session
        return client.post(path, data=body, content_type=content_type)

    def post(data: dict, upload: hc.Upload | None = None):
        data = derive(data)
        if not form.multipart:
            return send(hc.urlencoded(data), FORM)
        fields = [(k, v) for k, value in data.items() for v in (value if isinstance(value, list) else [value])]
        return send(*hc.multipart(fields, [("image_1", upload or hc.png_upload())]))

    fields = {real_field(n, base): (kind, max_lengths.get(real_field(n, base))) for n, kind in form.kinds.items()}
    refusals = portal_refusals(world, name, form, base, fields, post, send)
    return Endpoint(
        PORTAL, name, errors, client, before, base, fields, post, refusals, form.role, form.stores_text, form.stored
    )


def portal_refusals(world, name, form, base, fields, post, send) -> list:
    """Versions that are not numbers, bodies that are not a form, ids in the path that name nothing."""
    refusals = []
    if "version" in fields:
        refusals += [(f"version={v[:12]!r}", lambda v=v: post(base | {"version": v})) for v in hc.BAD_VERSIONS]
    if fields:
        field_name = next(n for n, (kind, _) in fields.items() if kind != hc.FILE)
        refusals += [(label, lambda b=b, c=c: send(b, c)) for label, (b, c) in hc.form_bodies(base, field_name).items()]
    args = form.args(world)
    if args:
        template = reverse(name, args=["0" if isinstance(a, int) else a for a in args])
        for bad in hc.BAD_IDS:
            path = template.replace("/0/", f"/{bad}/", 1)
            refusals.append((f"id {bad!r} in the path", lambda p=path: send(hc.urlencoded(base), FORM, p)))
    return refusals


@pytest.mark.parametrize("name", [n for n in PORTAL_VIEWS if n not in WEB_READ_ONLY])
def test_every_portal_form_refuses_hostile_input_and_changes_nothing(name, world, server_errors):
    assert name in WEB_FORMS, (
        f"The portal view {name!r} is not in the corpus: give it an entry in WEB_FORMS of "
        "tests/hostile/portal_forms.py (or, if it reads no body at all, add it to WEB_READ_ONLY)."
    )
    endpoint = portal_endpoint(world, name, WEB_FORMS[name], server_errors)
    run_corpus(endpoint)
    endpoint.verdicts.assert_none()


def test_every_entry_of_the_portal_tables_names_a_view():
    """A renamed or removed view leaves no entry behind that would quietly test nothing."""
    stale = (WEB_FORMS.keys() | WEB_READ_ONLY | WEB_QUERIES.keys()) - set(PORTAL_VIEWS)
    assert not stale, f"not a URL name of cases/web/urls.py: {sorted(stale)}"
    assert not WEB_FORMS.keys() & WEB_READ_ONLY, "a view is both a form and read-only"
