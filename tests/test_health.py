"""/healthz and /readyz for load balancers, and the cache that several app servers share (REDIS_URL)."""

import os
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
        "checks": {"database": "ok", "cache": "ok", "media": "ok", "print_cache": "ok"},
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
    """A real Redis (the CI machine runs one); skipped with the reason locally, a failure in CI."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as error:
        message = f"needs Redis at {REDIS_URL}: {error}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run this test: {message}")
        pytest.skip(message)
    return REDIS_URL


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
