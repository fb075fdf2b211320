import resource
import time

from django.core.management.base import BaseCommand, CommandError

from ...services.audit_seal import audit_verify, sink_path


class Command(BaseCommand):
    help = (
        "Seal, then verify the audit trail: every event against its MAC under the audit key, every checkpoint "
        "against the events it sealed. Names the first divergence; exits non-zero on any problem."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-seal", action="store_true", help="Verify only; append no checkpoint first.")
        parser.add_argument("--stats", action="store_true", help="Print events per second and peak memory.")

    def handle(self, *args, **options):
        started = time.perf_counter()
        report = audit_verify(seal=not options["no_seal"])
        elapsed = time.perf_counter() - started
        if options["stats"]:
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            rate = report.checked / elapsed if elapsed else 0
            self.stdout.write(
                f"{report.checked} events in {elapsed:.2f} s ({rate:,.0f} events/s), peak RSS {peak_mb:.0f} MB"
            )
        if not report.ok:
            lines = "\n".join(f"  - {problem}" for problem in report.problems)
            more = report.problem_count - len(report.problems)
            tail = f"\n  … and {more} more" if more > 0 else ""
            raise CommandError(
                f"Audit trail NOT intact ({report.problem_count} problem(s); {report.checked} events read, "
                f"sealed through #{report.sealed_through} by {report.checkpoints} checkpoint(s) in {sink_path()}). "
                f"First divergence: {report.problem}\n{lines}{tail}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit trail intact: {report.checked} events verified, sealed through #{report.sealed_through} "
                f"by {report.checkpoints} checkpoint(s)."
            )
        )
