"""Authentication hooks: the lockout backend, the session backend, and the audit of logins, failures,
lockouts, sign-outs and every change to an account (password, active, staff, superuser, groups, permissions).
A password change, however made, and a deactivation end the user's sessions and tokens (services/accounts.py)."""

import time

from axes.backends import AxesStandaloneBackend
from axes.signals import user_locked_out
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from .models import AuditEvent, CredentialEpoch
from .services.accounts import EPOCH_SESSION_KEY, credential_epoch, credentials_revoke
from .services.audit import audit_record, current_actor

LOGIN_AT_SESSION_KEY = "_tb_login_at"
User = get_user_model()


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for logins that come from a request.

    Code that authenticates without a request (management commands, the test client's
    login()) has no client to lock out; the password is still checked by the model backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        refuse_a_guessing_address(request)
        return super().authenticate(request, username=username, password=password, **kwargs)


def refuse_a_guessing_address(request) -> None:
    """A limit per address, whatever the usernames (the lockout above is per username and address): past
    TUMORBOARD_LOGIN_ADDRESS_DELAY_AFTER failures in the window each attempt waits longer (doubling, capped),
    past TUMORBOARD_LOGIN_ADDRESS_LIMIT it is refused. Counted from the audit trail, so every instance agrees."""
    from django.conf import settings

    from .middleware import client_address

    address = client_address(request)
    if not address:
        return
    since = timezone.now() - settings.TUMORBOARD_LOGIN_ADDRESS_WINDOW
    failures = AuditEvent.objects.filter(action="auth.login_failed", ip_address=address, created_at__gte=since).count()
    if failures >= settings.TUMORBOARD_LOGIN_ADDRESS_LIMIT:
        audit_record(actor=None, action="auth.address_limited", object_type="address", changes={"failures": failures})
        # Django takes PermissionDenied from a backend for a wrong password; the mark lets the answer say what it
        # is (AddressLimitMiddleware). DRF passes its own Request: the mark goes on the request Django sees.
        getattr(request, "_request", request).tb_address_limited = True
        raise PermissionDenied("Too many failed sign-ins from this address.")
    over = failures - settings.TUMORBOARD_LOGIN_ADDRESS_DELAY_AFTER
    if over >= 0:
        delay = min(
            settings.TUMORBOARD_LOGIN_ADDRESS_DELAY_SECONDS * 2**over, settings.TUMORBOARD_LOGIN_ADDRESS_MAX_DELAY
        )
        audit_record(
            actor=None,
            action="auth.address_delayed",
            object_type="address",
            changes={"failures": failures, "seconds": delay},
        )
        time.sleep(delay)


class ModelBackend(DjangoModelBackend):
    """Django's, but the user of a session comes with their credential epoch, in the same query."""

    def get_user(self, user_id):
        epoch = CredentialEpoch.objects.filter(user=OuterRef("pk")).values("epoch")[:1]
        user = User._default_manager.annotate(tb_credential_epoch=Coalesce(Subquery(epoch), 0)).filter(pk=user_id)
        user = user.first()
        return user if user is not None and self.user_can_authenticate(user) else None


@receiver(user_logged_in, dispatch_uid="tumorboard_login_audit")
def _audit_login(sender, request, user, **kwargs):
    # Only a sign-in that opened this session for this user starts its clock: the token endpoint says it is
    # not one (it may be sent someone else's session cookie, or the user's own).
    token_login = getattr(request, "tb_token_login", False)
    session = getattr(request, "session", None)
    if session is not None and not token_login and session.get(SESSION_KEY) == str(user.pk):
        session[LOGIN_AT_SESSION_KEY] = timezone.now().timestamp()
        session[EPOCH_SESSION_KEY] = credential_epoch(user)
    audit_record(
        actor=user,
        action="auth.login",
        object_type="user",
        object_id=user.pk,
        changes={"via": "api_token"} if token_login else {},
    )


@receiver(user_logged_out, dispatch_uid="tumorboard_logout_audit")
def _audit_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=user, action="auth.logout", object_type="user", object_id=user.pk)


@receiver(user_login_failed, dispatch_uid="tumorboard_login_failure_audit")
def _audit_login_failure(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    audit_record(actor=None, action="auth.login_failed", object_type="user", changes={"username": username})


@receiver(user_locked_out, dispatch_uid="tumorboard_lockout_audit")
def _audit_lockout(sender, request, username=None, ip_address=None, **kwargs):
    audit_record(actor=None, action="auth.locked_out", object_type="user", changes={"username": str(username or "")})


# Account changes ---------------------------------------------------------------------------------

WATCHED = ("username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser", "password")


@receiver(pre_save, sender=User, dispatch_uid="tumorboard_user_before")
def _user_before(sender, instance, raw=False, update_fields=None, **kwargs):
    instance._tb_password_set = getattr(instance, "_password", None) is not None  # set_password() was called
    instance._tb_before = None
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(WATCHED):
        return  # e.g. last_login at sign-in
    instance._tb_before = sender._base_manager.filter(pk=instance.pk).values(*WATCHED).first()
    # Django re-hashes a password under a newer hasher at sign-in (update_fields=["password"], no
    # set_password): the same password, not a change.
    instance._tb_rehash = update_fields is not None and set(update_fields) == {"password"}


@receiver(post_save, sender=User, dispatch_uid="tumorboard_user_after")
def _user_after(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    actor = current_actor()
    if created:
        # An account born with staff or superuser rights is a grant; a plain account grants nothing until a
        # board membership does (audited where it is made).
        if instance.is_staff or instance.is_superuser:
            changes = {name: getattr(instance, name) for name in ("username", "is_active", "is_staff", "is_superuser")}
            audit_record(actor=actor, action="user.create", object_type="user", object_id=instance.pk, changes=changes)
        return
    before = getattr(instance, "_tb_before", None)
    if not before:
        return
    changes = {
        name: [before[name], getattr(instance, name)]
        for name in WATCHED
        if name != "password" and before[name] != getattr(instance, name)
    }
    password_changed = instance._tb_password_set or (
        before["password"] != instance.password and not getattr(instance, "_tb_rehash", False)
    )
    if password_changed:
        changes["password"] = "changed"
    instance._tb_before = None
    if not changes:
        return
    audit_record(actor=actor, action="user.update", object_type="user", object_id=instance.pk, changes=changes)
    if password_changed:
        credentials_revoke(user=instance, by=actor, reason="password_changed")
    elif changes.get("is_active") == [True, False]:
        credentials_revoke(user=instance, by=actor, reason="deactivated")


def _audit_m2m(action_prefix, label):
    def receiver_(sender, instance, action, reverse, model, pk_set, **kwargs):
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        verb = action.removeprefix("post_")
        names = sorted(str(obj) for obj in model._default_manager.filter(pk__in=pk_set or [])) if pk_set else []
        owner_type = instance._meta.model_name
        audit_record(
            actor=current_actor(),
            action=f"{action_prefix}.{label}_{verb}",
            object_type=owner_type,
            object_id=instance.pk,
            changes={label: names, "ids": sorted(pk_set or [])},
        )

    return receiver_


_user_groups = _audit_m2m("user", "groups")
_user_permissions = _audit_m2m("user", "permissions")
_group_permissions = _audit_m2m("group", "permissions")
m2m_changed.connect(_user_groups, sender=User.groups.through, dispatch_uid="tumorboard_user_groups")
m2m_changed.connect(_user_permissions, sender=User.user_permissions.through, dispatch_uid="tumorboard_user_perms")
m2m_changed.connect(_group_permissions, sender=Group.permissions.through, dispatch_uid="tumorboard_group_perms")


@receiver(post_save, sender=Group, dispatch_uid="tumorboard_group_saved")
def _group_saved(sender, instance, created, raw=False, **kwargs):
    if not raw:
        audit_record(
            actor=current_actor(),
            action=f"group.{'create' if created else 'update'}",
            object_type="group",
            object_id=instance.pk,
            changes={"name": instance.name},
        )
