"""E-mail sent after a commit. No clinical content ever leaves by e-mail: a case reference and a link."""

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse


def case_link(case_id: int) -> str:
    return getattr(settings, "PORTAL_URL", "").rstrip("/") + reverse("case-detail", args=[case_id])


def _send(subject: str, lines: list[str], to: str) -> None:
    send_mail(
        subject=subject,
        message="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[to],
        fail_silently=True,
    )


def tell_basis_superseded(
    *, case_id: int, board_name: str, referrer: str, authors: list[str], decision_flagged: bool
) -> None:
    """The referrer and every author whose input went stale learn that the case needs another look."""
    link = case_link(case_id)
    if referrer:
        status = (
            "The board's signed decision is under review; its follow-up is suspended until the board decides again."
            if decision_flagged
            else "The specialty input given on the earlier report is being re-confirmed."
        )
        _send(
            f"Tumor board case {case_id}: pathology amended",
            [f"A pathology report of case {case_id} at the {board_name} was amended.", status, f"Read it: {link}"],
            referrer,
        )
    for address in authors:
        _send(
            f"Tumor board case {case_id}: your input needs re-confirming",
            [
                f"A pathology report of case {case_id} at the {board_name} was amended after you gave your input.",
                "Re-confirm it or revise it so that it counts for the board's consensus again.",
                f"Sign in to the case: {link}",
            ],
            address,
        )
