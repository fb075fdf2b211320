"""The only way WeasyPrint reaches a resource while printing.

Templates refer to our own static files and stored media under a private origin
(`https://tumorboard.invalid/static/…`, `…/media/…`); the ".invalid" top-level domain never
resolves, and this fetcher never opens a socket anyway: it reads the bytes through a loader
(Django's storages, in the web process) or from a dict the caller filled beforehand (worker
processes, which have no Django). Everything else is refused: other hosts, http(s), ftp,
file:// paths, and data: URIs larger than a small limit. Attachments go through here too.

This module imports no Django on purpose: worker processes render with it.
"""

import base64
import mimetypes
import posixpath
from collections.abc import Callable
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

ORIGIN = "https://tumorboard.invalid/"
ROOTS = ("static", "media")
DATA_URI_MAX_BYTES = 64 * 1024
RESOURCE_MAX_BYTES = 20 * 1024 * 1024

Loader = Callable[[str, str], bytes]


class RefusedResource(ValueError):
    """A URL the printer will not fetch. WeasyPrint logs it and leaves the resource out."""


def local_path(url: str) -> tuple[str, str]:
    """('static' or 'media', relative path) for one of our own URLs, or raise RefusedResource."""
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != ("https", "tumorboard.invalid"):
        raise RefusedResource(f"Refused to fetch {url[:80]!r}: only the app's own static and media files print.")
    path = unquote(parts.path)
    normalised = posixpath.normpath(path)
    root, _, relative = normalised.lstrip("/").partition("/")
    if root not in ROOTS or not relative or normalised != path or "\\" in path or "\x00" in path:
        raise RefusedResource(f"Refused to fetch {url[:80]!r}: not a static or media file.")
    return root, relative


def decode_data_uri(url: str) -> tuple[bytes, str]:
    """(bytes, mime type) of a small data: URI; large ones are refused before decoding."""
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise RefusedResource("Refused a malformed data: URI.")
    if len(payload) > DATA_URI_MAX_BYTES * 4 // 3 + 4:
        raise RefusedResource(f"Refused a data: URI larger than {DATA_URI_MAX_BYTES // 1024} KB.")
    mime = header.split(";")[0] or "text/plain"
    data = base64.b64decode(payload) if header.endswith(";base64") else unquote_to_bytes(payload)
    if len(data) > DATA_URI_MAX_BYTES:
        raise RefusedResource(f"Refused a data: URI larger than {DATA_URI_MAX_BYTES // 1024} KB.")
    return data, mime


class AppURLFetcher(URLFetcher):
    """Serves our static files and media from `resources` (url -> bytes) or the `loader`, nothing else.

    Fetched bytes stay in `resources`, so one fetcher shared by the documents of a render
    reads each image once.
    """

    def __init__(self, *, resources: dict[str, bytes] | None = None, loader: Loader | None = None):
        # No handlers at all: even a bug below could not reach urllib's network or file openers.
        super().__init__(timeout=1, allowed_protocols=("https", "data"), allow_redirects=False)
        self.handlers.clear()
        self.handle_open.clear()
        self.resources = {} if resources is None else resources
        self.loader = loader
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        try:
            if url.startswith("data:"):
                data, mime = decode_data_uri(url)
                return URLFetcherResponse(url="data:", body=data, headers={"Content-Type": mime})
            root, relative = local_path(url)
            data = self.resources.get(url)
            if data is None:
                if self.loader is None:
                    raise RefusedResource(f"Refused to fetch {url[:80]!r}: not among this render's resources.")
                data = self.loader(root, relative)
                if len(data) > RESOURCE_MAX_BYTES:
                    raise RefusedResource(f"Refused {url[:80]!r}: larger than {RESOURCE_MAX_BYTES // 2**20} MB.")
                self.resources[url] = data
        except RefusedResource:
            self.refused.append(url[:200])
            raise
        mime = mimetypes.guess_type(relative)[0] or "application/octet-stream"
        return URLFetcherResponse(url=url, body=data, headers={"Content-Type": mime})

    def open(self, url, data=None, timeout=None):
        return self.fetch(url.full_url if hasattr(url, "full_url") else url)
