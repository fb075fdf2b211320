"""The URL fetcher: our static files and media, nothing else, not even when HTML asks for it."""

import base64
import io
import socket
import threading

import pytest
from pypdf import PdfReader

from cases.printing import engine
from cases.printing.documents import load_from_storage, render_case_summary
from cases.printing.fetcher import DATA_URI_MAX_BYTES, ORIGIN, AppURLFetcher, RefusedResource
from tests import factories as f


class Listener:
    """A loopback TCP listener that counts the connections it receives."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def storage_fetcher():
    return AppURLFetcher(loader=load_from_storage)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "https://tumorboard.invalid/static/../../../etc/passwd",
        "https://tumorboard.invalid/static/%2e%2e/%2e%2e/etc/passwd",
        "https://tumorboard.invalid/etc/passwd",
        "https://example.org/static/printing/print.css",
        "ftp://tumorboard.invalid/static/printing/print.css",
    ],
)
def test_anything_but_our_static_and_media_files_is_refused(url):
    with pytest.raises(RefusedResource):
        storage_fetcher().fetch(url)


def test_our_stylesheet_and_a_stored_key_image_are_served(settings, tmp_path):
    fetcher = storage_fetcher()
    css = fetcher.fetch(ORIGIN + "static/printing/print.css")
    assert b"@page" in css.read() and css.content_type == "text/css"
    (tmp_path / "media" / "key-images").mkdir(parents=True)
    (tmp_path / "media" / "key-images" / "a.png").write_bytes(b"\x89PNG fake")
    assert fetcher.fetch(ORIGIN + "media/key-images/a.png").read() == b"\x89PNG fake"


def test_small_data_uris_are_decoded_and_large_ones_refused():
    fetcher = storage_fetcher()
    small = base64.b64encode(b"x" * 100).decode()
    assert fetcher.fetch(f"data:text/plain;base64,{small}").read() == b"x" * 100
    large = base64.b64encode(b"x" * (DATA_URI_MAX_BYTES + 1)).decode()
    with pytest.raises(RefusedResource):
        fetcher.fetch(f"data:image/png;base64,{large}")


def test_the_network_is_never_touched_even_by_raw_html(listener):
    url = f"http://127.0.0.1:{listener.port}/"
    html = f"""<html><head><link rel="attachment" href="{url}a.txt"><link rel="stylesheet" href="{url}s.css">
    </head><body><img src="{url}i.png"><img src="file:///etc/passwd"><a rel="attachment" href="{url}b">b</a>
    <p style="background: url({url}bg.png)">text</p></body></html>"""
    fetcher = storage_fetcher()
    with pytest.raises(RefusedResource):
        fetcher.fetch(url)
    pdf = engine.render(html, fetcher=fetcher)
    assert listener.connections == 0
    assert len(fetcher.refused) >= 5
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.attachments == {}
    assert "/EmbeddedFiles" not in reader.trailer["/Root"].get("/Names", {})


def test_hostile_case_fields_print_as_text_and_fetch_nothing(board, coordinator, listener):
    url = f"http://127.0.0.1:{listener.port}/"
    case = f.CaseFactory(
        board=board,
        history=f'<link rel=attachment href="{url}"> <img src="file:///etc/passwd"> <b>not bold</b>',
        key_labs=f"<style>@import url({url}x.css); p {{ color: red }}</style> url({url}y.png)",
    )
    pdf = render_case_summary(user=coordinator, case_id=case.pk)
    assert listener.connections == 0
    reader = PdfReader(io.BytesIO(pdf.content))
    assert reader.attachments == {}
    text = "".join("".join(page.extract_text() for page in reader.pages).split())
    assert f'<linkrel=attachmenthref="{url}">' in text
    assert '<imgsrc="file:///etc/passwd">' in text


def test_a_stylesheet_is_parsed_once_per_process_and_still_styles_every_document(monkeypatch):
    """A packet is one small document per case: print.css is parsed for the first and reused by the others, with
    the same result as a linked stylesheet. A changed stylesheet (other bytes) is parsed afresh."""
    url = ORIGIN + "static/printing/print.css"
    sheet = b"@page { size: A5 } p { color: rgb(1, 2, 3) }"
    parsed = []
    real_css = engine.CSS
    monkeypatch.setattr(engine, "CSS", lambda **kw: parsed.append(kw["base_url"]) or real_css(**kw))
    monkeypatch.setattr(engine, "_parsed_stylesheets", {})
    html = '<html><head><link rel="stylesheet" href="/static/printing/print.css"></head><body><p>x</p></body></html>'
    for _ in range(3):
        pdf = engine.render(html, fetcher=AppURLFetcher(resources={url: sheet}))
        page = PdfReader(io.BytesIO(pdf)).pages[0]
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (420, 595)  # A5: applied
    assert parsed == [url]
    engine.render(html, fetcher=AppURLFetcher(resources={url: sheet.replace(b"A5", b"A4")}))
    assert parsed == [url, url]
