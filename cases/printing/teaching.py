"""The teaching copy of an approved teaching set (its own document, never a flag on the clinical packet).

    render_teaching_set(user=…, teaching_set_id=…) -> RenderedPdf

Everything printed comes from cases/teaching/export.py. The file name and the PDF's metadata name
the board and the year only; the bookmarks are the teaching codes; no element carries an id, so
the PDF has no named destinations; every image is re-encoded to pixels on its way in.
"""

import functools
from urllib.parse import urljoin

from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.text import slugify

from .. import selectors
from ..services.errors import Conflict
from ..teaching.export import teaching_context
from ..teaching.images import clean_image
from . import engine
from .context import isolate_bidi
from .documents import RenderedPdf, _fingerprint, _resources, load_from_storage, render_limited
from .fetcher import ORIGIN, local_path

TEACHING_STYLESHEETS = ("printing/print.css", "printing/teaching.css")
IMAGE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG"}


def _clean_images(urls: list[str]) -> dict[str, bytes]:
    """Each image's pixels only, whatever the stored file holds (a file stored before re-encoding at upload)."""
    resources = {}
    for url in urls:
        absolute = urljoin(ORIGIN, url)
        root, relative = local_path(absolute)
        data = load_from_storage(root, relative)
        suffix = relative[relative.rfind(".") :].lower()
        cleaned, image_format = clean_image(data, IMAGE_FORMATS.get(suffix, "PNG"))
        # The URL keeps its suffix; the fetcher's type comes from it, so PNG output goes under a .png name.
        if image_format == "PNG" and suffix != ".png":
            absolute += ".png"
        resources[absolute] = cleaned
    return resources


def render_teaching_set(*, user, teaching_set_id) -> RenderedPdf:
    teaching_set, rows = selectors.teaching_set_detail(user=user, pk=teaching_set_id, with_codes=True)
    if not teaching_set.is_approved:
        raise Conflict(
            "This teaching set is not approved yet: a reviewer other than its preparer must approve it first.",
            code="not_approved",
        )
    values = isolate_bidi(teaching_context(teaching_set, rows))
    images = _clean_images([i["url"] for c in values["cases"] for s in c["imaging"] for i in s["images"]])
    renamed = {url.removesuffix(".png"): url for url in images if url.endswith(".png")}
    for case in values["cases"]:
        for study in case["imaging"]:
            for image in study["images"]:
                image["url"] = renamed.get(urljoin(ORIGIN, image["url"]), urljoin(ORIGIN, image["url"]))
    html = render_to_string("printing/teaching.html", values)
    fingerprint = _fingerprint("teaching", html)
    resources = {**_resources([static(name) for name in TEACHING_STYLESHEETS]), **images}
    job = engine.Job(key="teaching", html=html, resources=resources)
    content = render_limited([job], names={"teaching": "The teaching copy"})["teaching"]
    filename = f"teaching-{slugify(values['title'])}.pdf"
    result = functools.partial(RenderedPdf, filename=filename, fingerprint=fingerprint, subject=teaching_set)
    return result(content=content, from_cache=False, options={"fingerprint": fingerprint, "document": "teaching_set"})
