"""After an amendment: who is told, through the notification service (inbox and e-mail as background jobs).

No clinical content ever leaves by e-mail: a case reference and a link.
"""

from django.urls import reverse

from ..models import Case, NotificationKind
from ..types import User
from .notify import notify_address, notify_users


def tell_basis_superseded(*, case: Case, authors: list[User], decision_flagged: bool) -> None:
    """The referrer and every author whose input went stale learn that the case needs another look."""
    link = reverse("case-detail", args=[case.pk])
    if case.referring_email:
        status = (
            "The board's signed decision is under review; its follow-up is suspended until the board decides again."
            if decision_flagged
            else "The specialty input given on the earlier report is being re-confirmed."
        )
        notify_address(
            email=case.referring_email,
            kind=NotificationKind.PATHOLOGY_AMENDED,
            subject=f"Tumor board case {case.pk}: pathology amended",
            body=f"A pathology report of case {case.pk} at the {case.board.name} was amended. {status} "
            "Sign in to the tumor board portal to read the case.",
            link=link,
            case_id=case.pk,
        )
    notify_users(
        users=authors,
        kind=NotificationKind.INPUT_STALE,
        subject=f"Tumor board case {case.pk}: your input needs re-confirming",
        body=f"A pathology report of case {case.pk} at the {case.board.name} was amended after you gave your input. "
        "Re-confirm it or revise it so that it counts for the board's consensus again.",
        link=link,
        case_id=case.pk,
    )
