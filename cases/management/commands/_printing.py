"""What print_case and print_packet share: acting as a named user, and writing the file."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def add_common_arguments(parser) -> None:
    parser.add_argument(
        "--as",
        dest="username",
        required=True,
        metavar="USERNAME",
        help="Print as this user: their boards decide what is visible, and the audit trail names them.",
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="Where to write the PDF.")
    parser.add_argument("--pdfa", action="store_true", help="PDF/A-3b, for archiving.")


def acting_user(username: str):
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"No active user {username!r}.")
    return user


def write(command, pdf, out: str) -> None:
    Path(out).write_bytes(pdf.content)
    state = "reprinted from cache" if pdf.from_cache else "rendered"
    command.stdout.write(f"{out}: {len(pdf.content)} bytes, {state}, fingerprint {pdf.fingerprint[:10]}")
