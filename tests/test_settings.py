import os
import subprocess
import sys
from pathlib import Path

import pytest

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


# Where the audit checkpoints live (issue 11: never inside the database's folder) ---------------------------------


def fresh(tmp_path, *command, **env):
    """`command` in a var/ folder of its own, with no database or folder setting but those given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TUMORBOARD_", "DATABASE_URL"))}
    return subprocess.run(
        list(command) or [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, "DJANGO_DEBUG": "1", "TUMORBOARD_VAR_DIR": str(tmp_path / "var"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_by_default_the_database_has_a_folder_of_its_own_and_the_checkpoints_live_outside_it(tmp_path):
    result = fresh(tmp_path)
    assert result.returncode == 0, result.stderr
    code = "import django; django.setup(); from django.conf import settings as s; print(s.DATABASES['default']['NAME'])"
    name = fresh(tmp_path, sys.executable, "-c", code, DJANGO_SETTINGS_MODULE="tumorboard.settings")
    assert Path(name.stdout.strip()) == tmp_path / "var" / "db" / "tumorboard.sqlite3"


def test_checkpoints_inside_the_database_folder_are_refused_however_deep(tmp_path):
    database = tmp_path / "data" / "tb.sqlite3"
    for sink in (tmp_path / "data" / "checkpoints.jsonl", tmp_path / "data" / "audit" / "seals" / "checkpoints.jsonl"):
        result = fresh(tmp_path, DATABASE_URL=f"sqlite:///{database}", TUMORBOARD_AUDIT_CHECKPOINTS=str(sink))
        assert result.returncode != 0
        assert "tumorboard.E003" in result.stderr
        assert f"lies inside the database's folder ({tmp_path / 'data'})" in result.stderr, result.stderr
    beside = fresh(
        tmp_path,
        DATABASE_URL=f"sqlite:///{database}",
        TUMORBOARD_AUDIT_CHECKPOINTS=str(tmp_path / "seals" / "checkpoints.jsonl"),
    )
    assert beside.returncode == 0, beside.stderr


@pytest.mark.parametrize(("setting", "place"), [("MEDIA_ROOT", "stored files"), ("PRINT_CACHE_DIR", "print cache")])
def test_checkpoints_among_the_stored_files_or_the_print_cache_are_refused(settings, tmp_path, setting, place):
    from cases.checks import audit_checkpoints_live_apart

    setattr(settings, setting, tmp_path / "folder")
    settings.TUMORBOARD_AUDIT_CHECKPOINTS = tmp_path / "folder" / "deep" / "checkpoints.jsonl"
    (error,) = audit_checkpoints_live_apart(None)
    assert error.id == "tumorboard.E003" and place in error.msg and str(tmp_path / "folder") in error.msg
    settings.TUMORBOARD_AUDIT_CHECKPOINTS = tmp_path / "elsewhere" / "checkpoints.jsonl"
    assert audit_checkpoints_live_apart(None) == []


def test_a_daily_round_time_that_is_no_time_of_day_is_refused_at_start():
    refused = run_check(DJANGO_SECRET_KEY="k" * 50, TUMORBOARD_DAILY_AT="7am")
    assert refused.returncode != 0 and "TUMORBOARD_DAILY_AT is a time of day such as 07:00" in refused.stderr
    assert run_check(DJANGO_SECRET_KEY="k" * 50, TUMORBOARD_DAILY_AT="06:30").returncode == 0
