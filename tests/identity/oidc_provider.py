"""Starts the test OpenID provider (tests/identity/provider/provider.js, panva/oidc-provider) on loopback,
and signs in through it the way a browser would, for tests that use Django's test client.

Locally the tests skip, with the reason, when Node.js or the provider's packages are missing;
under CI=true that is a failure (scripts/install-test-provider.sh installs them).
"""

import json
import os
import select
import shutil
import subprocess
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

PROVIDER_DIR = Path(__file__).parent / "provider"
CLIENT_ID = "tumorboard"
CLIENT_SECRET = "test-only-client-secret-0123456789abcdef"
OTHER_CLIENT_ID = "another-application"


def provider_missing() -> str:
    if not shutil.which("node"):
        return "Node.js is not installed (apt-get install nodejs npm)"
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return "the test OpenID provider is not installed (run scripts/install-test-provider.sh)"
    return ""


def require_provider() -> None:
    reason = provider_missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the identity tests against a real provider: {reason}.")
        pytest.skip(reason)


@contextmanager
def running_provider(*, redirect_uris: list[str], logout_uris: list[str], accounts: dict):
    """Yields the issuer URL of a provider on 127.0.0.1 at a free port; it stops when the block ends."""
    require_provider()
    clients = [
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": redirect_uris,
            "post_logout_redirect_uris": logout_uris,
        }
    ]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TB_CLIENTS": json.dumps(clients),
        "TB_ACCOUNTS": json.dumps(accounts),
        "TB_PROVIDER_LIFETIME": "1800",
        "NODE_NO_WARNINGS": "1",
    }
    process = subprocess.Popen(
        ["node", "provider.js"],
        cwd=PROVIDER_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            process.kill()
            raise RuntimeError(f"the test provider did not start: {line!r} {process.stderr.read()[:2000]}")
        yield line.split()[1]
    finally:
        if process.stdin:
            process.stdin.close()  # the provider exits when its standard input closes
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "fields": {}})
        elif tag in ("input", "button") and self.forms and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""


def first_form(html: str) -> dict:
    parser = _Forms()
    parser.feed(html)
    assert parser.forms, f"no form on the provider's page: {html[:500]}"
    return parser.forms[0]


class ProviderBrowser:
    """The provider's side of a browser: its cookies, its redirects, its sign-in form."""

    def __init__(self, issuer: str):
        self.issuer = issuer
        self.session = requests.Session()

    def follow(self, url: str, *, stop_at: str, login: str | None = None, method: str = "GET", data=None) -> str:
        """Follow the provider's redirects (signing in as `login` when asked) until one leaves for `stop_at`."""
        for _ in range(20):
            response = self.session.request(method, url, data=data, allow_redirects=False, timeout=10)
            method, data = "GET", None
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                if url.startswith(stop_at):
                    return url
                continue
            assert response.status_code == 200, f"{response.status_code} from the provider: {response.text[:500]}"
            form = first_form(response.text)
            fields = form["fields"]
            if "login" in fields and login is not None:
                fields["login"] = login
            url, method, data = urljoin(url, form["action"] or url), "POST", fields
        raise AssertionError("the provider kept redirecting")


def sign_in(client, provider: ProviderBrowser, login: str, *, next_url: str = "") -> str:
    """Start at /login/sso/ with Django's test client; the callback URL the provider sends the browser to."""
    start = client.get("/login/sso/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start.content[:500]
    return provider.follow(start["Location"], stop_at="http://testserver/", login=login)


def callback_path(url: str) -> str:
    return url.removeprefix("http://testserver")
