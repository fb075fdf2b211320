"""/healthz and /readyz for load balancers, and the cache that several app servers share (REDIS_URL)."""

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TUMORBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def test_healthz_answers_without_a_sign_in_or_the_database(client):
    # No django_db mark: any query would raise, so liveness never depends on the database.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_checks_database_cache_and_storage(client):
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok", "media": "ok", "print_cache": "ok"},
    }


@pytest.mark.django_db
def test_readyz_says_which_part_is_not_ready_and_answers_503(client, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the print cache folder should be")
    settings.PRINT_CACHE_DIR = blocker
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["print_cache"].startswith("failed: ")
    assert str(tmp_path) not in response.content.decode()  # the reason is a name, never a path
    assert body["checks"]["database"] == "ok"


def test_health_is_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200


@pytest.fixture
def redis_url():
    return redis_or_skip(REDIS_URL)


def redis_or_skip(url: str) -> str:
    """A real Redis (the CI machine runs one); skipped with the reason locally, a failure in CI."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as error:
        message = f"needs Redis at {url}: {error}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run this test: {message}")
        pytest.skip(message)
    return url


def django_in_subprocess(code: str, **env) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup();" + code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "tumorboard.settings", "DJANGO_SECRET_KEY": "k" * 50, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_two_processes_with_redis_url_count_in_one_cache(redis_url):
    # Two app servers are two processes: a throttle counted in one must be seen by the other.
    key = f"shared-{uuid.uuid4().hex}"
    incr = f"from django.core.cache import cache; cache.add('{key}', 0, 60); print(cache.incr('{key}'))"
    assert django_in_subprocess(incr, REDIS_URL=redis_url) == "1"
    assert django_in_subprocess(incr, REDIS_URL=redis_url) == "2"
    backend = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    assert django_in_subprocess(backend, REDIS_URL=redis_url) == "django.core.cache.backends.redis.RedisCache"
    assert django_in_subprocess(backend) == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.django_db
def test_readyz_reports_an_unreachable_broker(client, settings):
    from cases.jobs import broker

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.JOBS_BROKER = f"redis://127.0.0.1:{port}/0"
    broker._redis.cache_clear()
    try:
        response = client.get(reverse("readyz"))
    finally:
        broker._redis.cache_clear()
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "failed: ConnectionError"


def test_json_logs_carry_the_request_id_of_the_request(client, db):
    import io
    import json
    import logging

    from cases.logs import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.get("/no-such-page/")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and lines[-1]["request_id"] == response["X-Request-ID"]
    assert lines[-1]["level"] == "WARNING" and lines[-1]["logger"] == "django.request"
