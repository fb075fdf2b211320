from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from ...printing.documents import render_meeting_packet
from ...services.printing import meeting_print_record
from ._printing import acting_user, add_common_arguments, write


class Command(BaseCommand):
    help = "Print a meeting packet PDF: print_packet MEETING_ID --as USERNAME --out FILE [--pdfa]"

    def add_arguments(self, parser):
        parser.add_argument("meeting_id", type=int)
        add_common_arguments(parser)
        parser.add_argument("--deidentify", action="store_true", help="Removed: teaching copies are teaching sets.")

    def handle(self, *args, meeting_id: int, username: str, out: str, pdfa: bool, deidentify: bool, **options):
        if deidentify:
            raise CommandError("--deidentify is gone: it was not anonymous. Prepare a teaching set in the portal.")
        user = acting_user(username)
        try:
            pdf = render_meeting_packet(user=user, meeting_id=meeting_id, pdfa=pdfa)
        except Http404:
            raise CommandError(f"Meeting {meeting_id} does not exist or is not visible to {username}.") from None
        meeting_print_record(
            meeting=pdf.subject, by=user, options={**pdf.options, "via": "command"}, case_ids=list(pdf.case_ids)
        )
        write(self, pdf, out)
