from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from ...printing.documents import render_case_summary
from ...services.printing import case_print_record
from ._printing import acting_user, add_common_arguments, write


class Command(BaseCommand):
    help = "Print a case summary PDF: print_case CASE_ID --as USERNAME --out FILE [--pdfa]"

    def add_arguments(self, parser):
        parser.add_argument("case_id", type=int)
        add_common_arguments(parser)

    def handle(self, *args, case_id: int, username: str, out: str, pdfa: bool, **options):
        user = acting_user(username)
        try:
            pdf = render_case_summary(user=user, case_id=case_id, pdfa=pdfa)
        except Http404:
            raise CommandError(f"Case {case_id} does not exist or is not visible to {username}.") from None
        case_print_record(case=pdf.subject, by=user, options={**pdf.options, "via": "command"})
        write(self, pdf, out)
