"""Bench for the paper: a 30-case meeting packet (about two pages and two key images per case).

    make bench-paper            (or: .venv/bin/python bench/paper.py --runs 3)

Prints medians over --runs runs of: cold render (empty PDF cache, warm process) with its peak
memory, warm reprint, reprint after one case changed, and WeasyPrint alone rendering the same
packet HTML saved to disk (in a fresh process), with the ratio of our cold time to it.
Everything happens in a throw-away SQLite database and directory; nothing of var/ is touched.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(tempfile.mkdtemp(prefix="tb-bench-paper-"))
os.environ.update(
    DJANGO_SETTINGS_MODULE="tumorboard.settings",
    DJANGO_SECRET_KEY="bench-only-not-secret",
    TUMORBOARD_AUDIT_KEY="bench-only-audit-key",
    DATABASE_URL=f"sqlite:///{WORK / 'db' / 'bench.sqlite3'}",  # a folder of its own: cases/checks.py
    TUMORBOARD_VAR_DIR=str(WORK),
    DJANGO_MEDIA_ROOT=str(WORK / "media"),
    TUMORBOARD_PRINT_CACHE_DIR=str(WORK / "print-cache"),
    DJANGO_LOG_LEVEL="WARNING",
)
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases import models as m  # noqa: E402
from cases.demo import illustration  # noqa: E402
from cases.printing import documents, engine  # noqa: E402

PARAGRAPH = (
    "Treated osteosarcoma of the distal femur twelve years ago: chemotherapy before and after a wide "
    "resection, arthrodesis with an allograft and an intramedullary nail. Now on haemodialysis, with pain, "
    "loosened screws and new lobulated soft-tissue calcification. "
)


def build(cases: int = 30):
    User = get_user_model()
    users = {
        name: User.objects.create(username=name, first_name=name.title(), last_name="Bench")
        for name in ("coordinator", "radiologist", "pathologist", "orthopaedic", "radonc", "chair")
    }
    specialties = ["radiology", "pathology", "orthopaedic_oncology", "radiation_oncology"]
    board = m.Board.objects.create(
        name="Sarcoma board", tumour_site="Bone", required_specialties=specialties, quorum_specialties=specialties
    )
    roles = {"coordinator": ("coordinator", ""), "chair": ("chair", "medical_oncology")}
    roles |= {name: ("member", code) for name, code in zip(list(users)[1:5], specialties, strict=True)}
    for name, user in users.items():
        m.BoardMembership.objects.create(user=user, board=board, role=roles[name][0], specialty=roles[name][1])
    meeting = m.Meeting.objects.create(
        board=board, starts_at=timezone.now(), location="Room 4B", created_by=users["coordinator"]
    )
    for index in range(cases):
        patient = m.Patient.objects.create(
            mrn=f"BENCH-{index:05d}", given_name="Synthetic", family_name=f"Patient{index:02d}",
            birth_date="1990-01-01", sex="female", comorbidities="End-stage kidney disease.",
            registered_board=board, created_by=users["coordinator"],
        )  # fmt: skip
        case = m.Case.objects.create(
            patient=patient, board=board, referring_clinician="Dr. Bench", clinical_question="Relapse or calcinosis?",
            history=PARAGRAPH * 2, key_labs="Calcium 2.6 mmol/L, phosphate 2.3 mmol/L, PTH 84 pmol/L.",
            stage="consensus", created_by=users["coordinator"],
        )  # fmt: skip
        study = m.ImagingStudy.objects.create(
            case=case, modality="XR", body_site="Left femur", performed_on="2025-01-10", findings=PARAGRAPH,
            impression="Lobulated calcification: relapse or tumoral calcinosis.", radiologist=users["radiologist"],
        )  # fmt: skip
        for order in (1, 2):
            image = m.KeyImage(study=study, caption=f"Key image {order} of case {index}", order=order)
            image.image.save("k.png", illustration(f"XR {order}", "", seed=index + order), save=False)
            image.save()
        first = m.PathologyReport.objects.create(
            case=case, specimen="Soft-tissue mass", procedure="Excision", collected_on="2025-01-20",
            diagnosis="Residual osteosarcoma.", status="final", signed_out_at=timezone.now(),
            pathologist=users["pathologist"],
        )  # fmt: skip
        m.PathologyReport.objects.create(
            case=case, specimen="Soft-tissue mass", procedure="Excision", collected_on="2025-01-20",
            diagnosis="Callus and tumoral calcinosis; no tumour.", status="amended", supersedes=first,
            amendment_reason="Re-examined after the board.", discrepancy="major", signed_out_at=timezone.now(),
            pathologist=users["pathologist"],
        )  # fmt: skip
        for name, specialty in zip(("radiologist", "pathologist", "orthopaedic", "radonc"), specialties, strict=True):
            m.Opinion.objects.create(
                case=case, specialty=specialty, author=users[name], assessment=PARAGRAPH, recommendation="Follow up."
            )
        m.AgendaItem.objects.create(meeting=meeting, case=case, position=index + 1, minutes=10)
    meeting.agenda_published_at = timezone.now()
    meeting.save()
    return users["coordinator"], meeting


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def vm_hwm_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


BASELINE = """
import json, resource, sys, time
import weasyprint
start = time.perf_counter()
weasyprint.HTML(filename=sys.argv[1]).write_pdf(sys.argv[2])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def save_baseline_html(user, meeting) -> Path:
    """The packet as one HTML document on disk, with its stylesheets and images beside it."""
    folder = WORK / "baseline"
    shutil.copytree(ROOT / "static", folder / "static")
    shutil.copytree(settings.MEDIA_ROOT, folder / "media")
    html = documents.packet_html(user=user, meeting_id=meeting.pk)
    html = html.replace('href="/static/', 'href="static/').replace('src="/media/', 'src="media/')
    (folder / "packet.html").write_text(html)
    return folder


def weasyprint_alone(folder: Path) -> dict:
    """WeasyPrint alone, in a fresh process (timed after its imports), on the saved HTML."""
    out = subprocess.run(
        [sys.executable, "-c", BASELINE, str(folder / "packet.html"), str(folder / "packet.pdf")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold(render, workers: int) -> tuple[float, object]:
    settings.PRINT_WORKERS = workers
    shutil.rmtree(settings.PRINT_CACHE_DIR, ignore_errors=True)
    return timed(render)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    user, meeting = build()
    workers = engine.default_workers()
    # A long-running server has its worker processes started and their fonts loaded: warm both shapes measured.
    limits = documents.print_limits()
    for count in sorted({workers, 1}):
        engine.render_jobs([engine.Job("warm-up", "<p>x</p>", {})] * count * 2, workers=count, limits=limits)
    render = lambda: documents.render_meeting_packet(user=user, meeting_id=meeting.pk)  # noqa: E731
    folder = save_baseline_html(user, meeting)

    # The machine is shared: each run measures everything back to back, so load hits all alike.
    rows = []
    for run in range(args.runs):
        parallel, pdf = cold(render, workers)
        if run == 0:
            pool = engine.worker_pool(workers, limits)
            peak = vm_hwm_mb() + sum(vm_hwm_mb(p) for p in pool._processes)
        warm = timed(render)[0]
        opinion = m.Opinion.objects.filter(case__agenda_items__meeting=meeting).order_by("?").first()
        opinion.assessment += f" Revised in run {run}."
        opinion.save()
        changed = timed(render)[0]
        single = cold(render, 1)[0]
        alone = weasyprint_alone(folder)
        rows.append((parallel, single, warm, changed, alone["seconds"], alone["peak_mb"]))
        print(f"  run {run + 1}: " + " ".join(f"{v:.3f}" for v in rows[-1][:5]), flush=True)

    med = [statistics.median(column) for column in zip(*rows, strict=True)]
    ratio = statistics.median(r[0] / r[4] for r in rows)
    ratio_single = statistics.median(r[1] / r[4] for r in rows)
    pages = engine.page_count(pdf.content)
    print(f"Paper bench: 30-case packet, {pages} pages, {workers} worker processes, median of {args.runs} runs")
    print(f"  cold (empty cache)        {med[0]:7.3f} s   peak memory {peak:6.0f} MB (web process + workers)")
    print(f"  cold, one process         {med[1]:7.3f} s")
    print(f"  warm (unchanged)          {med[2]:7.3f} s   {100 * med[2] / med[0]:5.1f} % of cold")
    print(f"  one case changed          {med[3]:7.3f} s   {100 * med[3] / med[0]:5.1f} % of cold")
    print(f"  WeasyPrint alone          {med[4]:7.3f} s   peak memory {med[5]:6.0f} MB, same HTML from disk")
    print(f"  ratio cold / WeasyPrint   {ratio:7.2f}     (one process: {ratio_single:.2f})")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
