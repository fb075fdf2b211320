import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_check(*command, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        list(command) or [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_app_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = run_check(sys.executable, "manage.py", "check", "--deploy", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    server = run_check(sys.executable, "manage.py", "runserver", "--noreload", "127.0.0.1:0", DJANGO_DEBUG="0")
    assert server.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in server.stderr
    for entry in ("tumorboard.wsgi", "tumorboard.asgi"):
        served = run_check(sys.executable, "-c", f"import {entry}", DJANGO_DEBUG="0")
        assert served.returncode != 0
        assert (
            served.stderr.strip()
            .splitlines()[-1]
            .endswith(
                "DJANGO_SECRET_KEY is not set: export a long random value, or DJANGO_DEBUG=1 for local development."
            )
        )


def test_tooling_that_serves_nothing_works_without_the_key():
    result = run_check(sys.executable, "manage.py", "makemigrations", "--check", "--dry-run", DJANGO_DEBUG="0")
    assert result.returncode == 0, result.stderr


def test_debug_mode_starts_without_a_secret_key():
    result = run_check(sys.executable, "manage.py", "check", "--deploy", DJANGO_DEBUG="1")
    assert "tumorboard.E001" not in result.stderr
    result = run_check(DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_settings_come_from_the_environment():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='tumorboard.settings'; django.setup();"
        "from django.conf import settings as s; d=s.DATABASES['default'];"
        "print(d['ENGINE'], d['NAME'], s.ALLOWED_HOSTS, s.TIME_ZONE, s.USE_TZ, s.DEBUG)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SECRET_KEY="k" * 50,
        DATABASE_URL="postgres://u@db.example:5433/tb",
        DJANGO_ALLOWED_HOSTS="tb.example.org, intranet",
        TIME_ZONE="Europe/Oslo",
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == [
        "django.db.backends.postgresql",
        "tb",
        "['tb.example.org',",
        "'intranet']",
        "Europe/Oslo",
        "True",
        "False",
    ], out.stderr


def test_the_app_refuses_to_start_without_an_audit_key_when_debug_is_off():
    clean = {k: v for k, v in os.environ.items() if k != "TUMORBOARD_AUDIT_KEY"}
    env = {"DJANGO_SECRET_KEY": "k" * 50, "DJANGO_DEBUG": "0"}
    result = subprocess.run(
        [sys.executable, "-c", "import tumorboard.wsgi"],
        cwd=ROOT,
        env={**{k: v for k, v in clean.items() if not k.startswith("DJANGO_")}, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "TUMORBOARD_AUDIT_KEY is not set: export a long random value (kept outside the database), "
            "or DJANGO_DEBUG=1 for local development."
        )
    )
    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={**{k: v for k, v in clean.items() if not k.startswith("DJANGO_")}, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode != 0 and "tumorboard.E002" in check.stderr


def test_with_debug_on_a_development_audit_key_is_derived():
    clean = {k: v for k, v in os.environ.items() if k != "TUMORBOARD_AUDIT_KEY" and not k.startswith("DJANGO_")}
    code = "import django; django.setup(); from django.conf import settings; print(settings.TUMORBOARD_AUDIT_KEY)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "tumorboard.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip().startswith("development-") and len(out.stdout.strip()) == 76
