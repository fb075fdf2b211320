"""Credentials end when they should: on a password change (however made), on deactivation, on "sign out
everywhere". API tokens are deleted; sessions end at their next request (they carry the epoch they began in)."""

from django.db import transaction
from django.db.models import F
from knox.models import get_token_model

from ..models import CredentialEpoch
from ..types import User
from .audit import audit_record

EPOCH_SESSION_KEY = "_tb_credential_epoch"


def credentials_revoke(*, user: User, by: User | None, reason: str) -> int:
    """End every session and token of `user`; returns how many tokens were deleted. Audited."""
    with transaction.atomic():
        CredentialEpoch.objects.get_or_create(user=user)
        CredentialEpoch.objects.filter(user=user).update(epoch=F("epoch") + 1)
        tokens, _ = get_token_model().objects.filter(user=user).delete()
        audit_record(
            actor=by,
            action="auth.credentials_revoked",
            object_type="user",
            object_id=user.pk,
            changes={"reason": reason, "tokens_deleted": tokens, "username": user.get_username()},
        )
    return tokens


def credential_epoch(user: User) -> int:
    """The user's current epoch; the session backend loads it with the user (no extra query per request)."""
    epoch = getattr(user, "tb_credential_epoch", None)
    if epoch is None:
        epoch = CredentialEpoch.objects.filter(user=user).values_list("epoch", flat=True).first() or 0
    return epoch
