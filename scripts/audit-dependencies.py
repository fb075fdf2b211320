"""Audit the pinned runtime requirements for known vulnerabilities with pip-audit.

Fails on any known vulnerability. Where no vulnerability service answers (a machine that reaches
only a package mirror), it says plainly that nothing could be audited, rather than reporting a
clean result it did not get.
"""

import json
import subprocess
import sys
from pathlib import Path

venv_bin = Path(sys.executable).parent
result = subprocess.run(
    [str(venv_bin / "pip-audit"), "-r", "requirements.txt", "--progress-spinner", "off", "--format", "json"],
    capture_output=True,
    text=True,
)
try:
    report = json.loads(result.stdout)
except json.JSONDecodeError:
    print(result.stdout, result.stderr, sep="\n")
    sys.exit("pip-audit did not produce a report")

audited = [d for d in report["dependencies"] if "skip_reason" not in d]
skipped = [d for d in report["dependencies"] if "skip_reason" in d]
vulnerable = [d for d in audited if d.get("vulns")]
for dep in vulnerable:
    for vuln in dep["vulns"]:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
        print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
if vulnerable:
    sys.exit(f"pip-audit: {len(vulnerable)} vulnerable package(s)")
if not audited:
    print(
        f"pip-audit: NOT AUDITED — no vulnerability service answered for any of the {len(skipped)} packages "
        "(this machine reaches only a package mirror). Run `make audit` where PyPI's JSON API or OSV is reachable."
    )
else:
    print(f"pip-audit: {len(audited)} packages audited, no known vulnerabilities; {len(skipped)} could not be audited.")
