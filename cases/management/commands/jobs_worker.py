"""Run background jobs in the foreground until stopped (`make worker`). SIGTERM or Ctrl-C finishes the job
under way, then stops; a worker killed outright loses nothing (its lease runs out, another worker retries)."""

import signal

from django.core.management.base import BaseCommand

from cases.jobs import worker


class Command(BaseCommand):
    help = "Run background jobs (packet rendering) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run the jobs due now, then exit.")
        parser.add_argument("--poll", type=float, default=None, help="Seconds between looks at the job table.")

    def handle(self, *args, once: bool = False, poll: float | None = None, **options):
        if once:
            name = worker.worker_name()
            count = 0
            while worker.run_once(name):
                count += 1
            self.stdout.write(f"{count} job(s) run.")
            return
        stopping = []

        def stop(signum, frame):
            stopping.append(signum)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("Job worker started; stop it with Ctrl-C.")
        self.stdout.flush()
        worker.work(stop=lambda: bool(stopping), poll_seconds=poll)
        self.stdout.write("Job worker stopped.")
