"""The hostile-input corpus of issue 6 ("Bad input"), sent by the tests of this package to every
portal form and every API operation.

A field has a *kind* (text, date, id, …); each payload names the kinds it is aimed at. Most payloads
are *invalid*: they must be refused with a 4xx and a message, changing nothing. The *text* payloads
(SQL, HTML, script, CSS `url(…)`, an `<img src=file:…>`, template syntax, bidirectional Unicode) are
valid text: a text field may store them, and then it must store them exactly and every page, API
answer and PDF must show them as inert text.
"""

import io
import json
import struct
import urllib.parse
import zlib
from dataclasses import dataclass

from PIL import Image

# Field kinds.
TEXT = "text"  # free text
EMAIL = "email"
URL = "url"
INT = "int"  # a number the user types (minutes, a version)
ID = "id"  # the id of a row (a board, a case, a user)
CHOICE = "choice"  # one of a fixed set of codes
MULTI = "multi"  # several ids or codes (check boxes; JSON arrays)
DATE = "date"
DATETIME = "datetime"
BOOL = "bool"
FILE = "file"
ORDER = "order"  # the agenda order: comma-separated ids
REDIRECT = "redirect"  # where to go after a form (`next`)
OBJECT = "object"  # a JSON object or array of objects (the plan)

HUGE = 10**30


@dataclass(frozen=True)
class Payload:
    name: str
    kinds: frozenset
    value: object  # str, int, bytes (raw bytes: not valid UTF-8), or a JSON value
    text: bool = False  # valid text: may be accepted, and then must be stored exactly and shown inert
    web: bool = True  # sent to portal forms
    api: bool = True  # sent in API bodies (JSON)
    filter_ok: bool = False  # a real calendar date: a query filter may compare with it, no record may hold it


def _p(name, kinds, value, **kwargs) -> Payload:
    return Payload(name, frozenset(kinds), value, **kwargs)


# Valid text: stored exactly when a text field accepts it, and always shown as inert text.
TEXT_PAYLOADS = [
    _p("sql", {TEXT}, "Robert'); DROP TABLE cases_case; SELECT * FROM auth_user WHERE '1'='1", text=True),
    _p(
        "html", {TEXT}, '<b>bold</b> <i>italic</i> <a href="https://tumorboard.invalid/">link</a> &amp; &lt;', text=True
    ),
    _p("script", {TEXT}, '<script>alert("tb-xss")</script><svg onload=alert(1)>', text=True),
    _p(
        "css-url",
        {TEXT},
        'url(file:///etc/passwd) <div style="background:url(https://tumorboard.invalid/x)">',
        text=True,
    ),
    _p("img-file", {TEXT}, "<img src=file:///etc/passwd onerror=alert(1)><iframe src=/admin/>", text=True),
    _p("template", {TEXT}, "{{ request.user.password }} {% debug %} ${7*7} #{7*7} %s %n", text=True),
    _p("unicode", {TEXT}, "\u9aa8\u8089\u7624 \u00fcn\u00ef\u00e7\u00f6d\u00e9 zero\u200bwidth\ufeff end", text=True),
    # Right-to-left override: stored and shown as it is, so it reverses what follows it on its line.
    _p("bidi-override", {TEXT}, "\u202egnp.exe", text=True),
]

INVALID_PAYLOADS = [
    # Bytes and characters no text field may hold.
    _p("nul-byte", {TEXT, EMAIL, URL, CHOICE, ID, INT, DATE, DATETIME, ORDER}, "a\x00b"),
    _p("invalid-utf8", {TEXT, EMAIL}, b"caf\xe9 \xff\xfe \xc3("),
    _p("lone-surrogate", {TEXT}, "half a pair \ud800", web=False),
    # Numbers.
    _p("huge-integer", {INT, ID, CHOICE, MULTI, ORDER}, HUGE),
    _p("negative-integer", {INT, ID}, -1),
    _p("float-overflow", {INT, ID}, "1e400"),
    _p("sql-in-number", {INT, ID, CHOICE, MULTI, ORDER}, "1 OR 1=1"),
    _p("unicode-digit", {INT, ID, CHOICE, MULTI, ORDER}, "\u00b2"),  # "²": str.isdigit() says yes, int() says no
    # Dates and times that do not exist or leave the calendar.
    _p("year-zero", {DATE}, "0000-01-01"),
    _p("year-10000", {DATE}, "10000-01-01"),
    _p("february-30", {DATE}, "2026-02-30"),
    _p("first-day-of-the-calendar", {DATE}, "0001-01-01", filter_ok=True),
    _p("last-day-of-the-calendar", {DATE}, "9999-12-31", filter_ok=True),
    _p("month-13", {DATETIME}, "2026-13-01T10:00"),
    _p("datetime-before-the-calendar", {DATETIME}, "0001-01-01T00:00:00+14:00"),
    _p("datetime-after-the-calendar", {DATETIME}, "9999-12-31T23:59:59-14:00"),
    _p("last-minute-of-the-calendar", {DATETIME}, "9999-12-31T23:59", filter_ok=True),
    # Codes and addresses.
    _p("unknown-code", {CHOICE, MULTI}, "<script>alert(1)</script>"),
    _p("javascript-url", {URL}, "javascript:alert(document.cookie)"),
    _p("file-url", {URL}, "file:///etc/passwd"),
    _p("email-with-markup", {EMAIL}, "x@tumorboard.invalid<script>"),
    _p("not-a-boolean", {BOOL}, "maybe"),
    # JSON of the wrong shape (API only: a form has only strings).
    _p("object-for-text", {TEXT, EMAIL, URL, DATE, DATETIME, CHOICE}, {"$gt": ""}, web=False),
    _p("list-for-scalar", {TEXT, INT, ID, CHOICE, DATE, BOOL}, ["a", "b"], web=False),
    _p("string-for-list", {MULTI, OBJECT}, "1,2,3", web=False),
    _p("ten-thousand-items", {MULTI, OBJECT}, [1] * 10_000, web=False),
    # Off-site redirects after a form.
    _p("off-site-redirect", {REDIRECT}, "https://evil.invalid/phish"),
    _p("scheme-relative-redirect", {REDIRECT}, "//evil.invalid/phish"),
    _p("javascript-redirect", {REDIRECT}, "javascript:alert(1)"),
]

PAYLOADS = TEXT_PAYLOADS + INVALID_PAYLOADS

# Versions a form carries back, and If-Match headers of the API.
BAD_VERSIONS = ["abc", str(HUGE), "-1", "1e400", "1\x002", "\u00b2"]
BAD_IF_MATCH = ['"case-1-v99999999999999999999"', "*", 'W/"x"', "garbage", '"case-1-v1\x00"', '"' + "9" * 5000 + '"']

# Ids in a path: past a 64-bit integer, a NUL byte, a float, a negative number, a byte that is not UTF-8.
BAD_IDS = ["9" * 20, "9" * 25, "%00", "1e3", "-1", "%ff"]

# Whole requests: bodies too big, of the wrong type, or not what they say they are.
OVERSIZED_TEXT = "A" * (3 * 1024 * 1024)  # over DATA_UPLOAD_MAX_MEMORY_SIZE (2 MB)


def form_bodies(base: dict, field: str) -> dict[str, tuple[bytes, str]]:
    """{label: (body, content type)}: whole requests a portal form must refuse; `field` takes the oversized text."""
    return {
        "json-body": (json.dumps(base).encode(), "application/json"),
        "text-plain-body": (urlencoded(base), "text/plain"),
        "oversized-body": (urlencoded(base | {field: OVERSIZED_TEXT}), "application/x-www-form-urlencoded"),
        "malformed-multipart": (b"--nothing--", "multipart/form-data; boundary="),
        "too-many-fields": (
            urlencoded(base | {f"f{n}": "x" for n in range(1500)}),
            "application/x-www-form-urlencoded",
        ),
    }


def json_bodies(base: dict, field: str) -> dict[str, tuple[bytes, str]]:
    """{label: (body, content type)}: whole requests an API operation must refuse; `field` is a text field."""
    scalar = {k: v for k, v in base.items() if not isinstance(v, list | dict)}
    form = "application/x-www-form-urlencoded"
    return {
        "text-plain-body": (json_body(base), "text/plain"),
        "xml-body": (b"<?xml version='1.0'?><case><history>x</history></case>", "application/xml"),
        "malformed-json": (b'{"' + field.encode() + b'": ', "application/json"),
        "json-array-body": (b"[1, 2, 3]", "application/json"),
        "json-nan": (b'{"' + field.encode() + b'": NaN}', "application/json"),
        "deeply-nested-json": (b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json"),
        "5000-digit-number": (b'{"' + field.encode() + b'": 1' + b"0" * 5000 + b"}", "application/json"),
        "invalid-utf8-json": (json_body(base | {field: b"caf\xe9 \xff"}), "application/json"),
        "utf16-json": (json.dumps(base).encode("utf-16"), "application/json"),
        "prototype-pollution": (json_body(base | {"__proto__": {"is_admin": True}}), "application/json"),
        "oversized-json": (json_body(base | {field: OVERSIZED_TEXT}), "application/json"),
        "oversized-form": (urlencoded(scalar | {field: OVERSIZED_TEXT}), form),
        "invalid-utf8-form": (urlencoded(scalar | {field: b"caf\xe9 \xff"}), form),
        "nul-in-form": (urlencoded(scalar | {field: "a\x00b"}), form),
        "malformed-multipart": (b"--nothing--", "multipart/form-data; boundary="),
    }


# Files --------------------------------------------------------------------------------------


def png_bytes(size=(24, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 90, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def gif_with_script() -> bytes:
    """A real GIF whose comment is a script: a valid image, whatever its bytes say."""
    buffer = io.BytesIO()
    Image.new("P", (8, 8)).save(buffer, format="GIF", comment=b"<script>alert(1)</script>")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb() -> bytes:
    """A PNG header claiming 100,000 × 100,000 pixels: a few hundred bytes that would decompress to 30 GB."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + _chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class Upload:
    name: str
    filename: str
    content: bytes
    content_type: str
    is_image: bool  # a readable PNG/JPEG/GIF/WebP: may be accepted (stored under a random name)


def uploads() -> list[Upload]:
    png = png_bytes()
    return [
        Upload("pdf-named-png", "scan.png", b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF", "image/png", False),
        Upload("html-named-png", "scan.png", b"<html><script>alert(1)</script></html>", "image/png", False),
        Upload(
            "svg-with-script",
            "scan.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>',
            "image/svg+xml",
            False,
        ),
        Upload("truncated-png", "scan.png", png[:60], "image/png", False),
        Upload("empty-file", "scan.png", b"", "image/png", False),
        Upload("decompression-bomb", "bomb.png", png_bomb(), "image/png", False),
        Upload("executable", "scan.png", b"MZ\x90\x00" + b"\x00" * 200, "image/png", False),
        # Readable images with hostile names: accepted or refused, never stored where the name says.
        Upload("traversal-name", "../../../../etc/passwd.png", png, "image/png", True),
        Upload("windows-traversal-name", "..\\..\\..\\windows\\win.ini.png", png, "image/png", True),
        Upload("absolute-name", "/etc/cron.d/evil.png", png, "image/png", True),
        Upload("markup-name", "<script>alert(1)</script>.png", png, "image/png", True),
        Upload("long-name", "x" * 400 + ".png", png, "image/png", True),
        Upload("double-extension", "scan.png.html", png, "text/html", True),
        Upload("gif-with-script-comment", "scan.gif", gif_with_script(), "image/gif", True),
    ]


def png_upload() -> Upload:
    return Upload("png", "key.png", png_bytes(), "image/png", True)


# Bodies built by hand --------------------------------------------------------------------------

RAW = "\u2063raw\u2063"  # stands for raw bytes in a JSON body until it is encoded


def json_body(data: dict) -> bytes:
    """JSON, except that a value of raw bytes (not UTF-8) goes into the body as those bytes."""
    raw = next((v for v in data.values() if isinstance(v, bytes)), None)
    text = json.dumps({k: RAW if isinstance(v, bytes) else v for k, v in data.items()}, ensure_ascii=True)
    if raw is None:
        return text.encode()
    return text.encode().replace(json.dumps(RAW, ensure_ascii=True)[1:-1].encode(), raw)


def urlencoded(data: dict) -> bytes:
    pairs = []
    for name, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return urllib.parse.urlencode(pairs).encode()


def query_string(params: dict) -> str:
    """A lone surrogate goes as the bytes a careless client would send (not UTF-8)."""
    encoded = [(k, v.encode("utf-8", "surrogatepass") if isinstance(v, str) else v) for k, v in params.items()]
    return urllib.parse.urlencode(encoded)


def multipart(fields: list[tuple[str, str | bytes]], files: list[tuple[str, Upload]]) -> tuple[bytes, str]:
    """A multipart/form-data body built by hand: the test client would tidy up hostile file names."""
    boundary = b"tb-hostile-corpus-boundary"
    parts = []
    for name, value in fields:
        value = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
        parts.append(
            b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, name.encode(), value)
        )
    for name, upload in files:
        parts.append(
            b'--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\nContent-Type: %s\r\n\r\n%s\r\n'
            % (boundary, name.encode(), upload.filename.encode(), upload.content_type.encode(), upload.content)
        )
    return b"".join(parts) + b"--%s--\r\n" % boundary, f"multipart/form-data; boundary={boundary.decode()}"
