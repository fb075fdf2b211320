"""`make run` and `make test` say what each step does, and pip shows its progress (issue 13: they used to
print nothing for the two minutes of installing, which looked like a hang)."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings


def dry_run(target: str, tmp_path: Path) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # A virtualenv that does not exist yet: every step is due, as on a first run.
    result = subprocess.run(
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.mark.parametrize("target", ["run", "test"])
def test_every_step_prints_a_line_and_pip_is_not_quiet(target, tmp_path):
    steps = [line for line in dry_run(target, tmp_path).splitlines() if line.startswith('echo "==> ')]
    said = " ".join(steps)
    for step in ("Creating the Python virtualenv", "Installing the Python packages", "Checking the system packages"):
        assert step in said, steps
    assert ("Running the test suite" if target == "test" else "Starting the web server") in said
    install = next(line for line in dry_run(target, tmp_path).splitlines() if "pip install" in line)
    assert "--quiet" not in install and "-q " not in install
