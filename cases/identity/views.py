"""Portal pages of identity: sign-in through the provider, the second factor, break-the-glass. Thin:
each parses input, calls one service and renders."""

from urllib.parse import quote

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from .. import permissions, selectors
from ..models import Patient
from ..services.audit import audit_list, audit_record
from ..web.common import form_page, form_view, submit, submit_once
from ..web.pages import case_page_context
from . import oidc, passkeys, services
from .forms import AcknowledgeForm, BreakGlassForm, CodeForm, EnrolForm, PasskeyForm
from .session import (
    ID_TOKEN_SESSION_KEY,
    MFA_ENROL,
    MFA_OK,
    MFA_VERIFY,
    PENDING_SECRET_SESSION_KEY,
    RECOVERY_CODES_SESSION_KEY,
    break_glass_remember,
    mfa_state,
    set_mfa_state,
)

PROVIDER_MFA = {"mfa", "otp", "hwk", "swk", "sc", "fido"}  # RFC 8176 methods that are a second factor


def _safe_next(request, value: str) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=False):
        return value
    return resolve_url(settings.LOGIN_REDIRECT_URL)


# Single sign-on ------------------------------------------------------------------------------


def _redirect_uri(request) -> str:
    return settings.OIDC_REDIRECT_URI or request.build_absolute_uri(reverse("sso-callback"))


def sso_begin(request):
    if not oidc.is_configured():
        raise Http404("Single sign-on is not set up.")
    next_url = _safe_next(request, request.GET.get("next", ""))
    try:
        url = oidc.begin(request.session, redirect_uri=_redirect_uri(request), next_url=next_url)
    except oidc.SsoRefused as refusal:
        return _sso_refused(request, refusal)
    return redirect(url)


def sso_callback(request):
    if not oidc.is_configured():
        raise Http404("Single sign-on is not set up.")
    try:
        started = oidc.take_pending(request.session, request.GET.get("state", ""))
        if request.GET.get("error"):
            raise oidc.SsoRefused(
                "provider_error",
                "The hospital's sign-in service did not sign you in: "
                + request.GET.get("error_description", request.GET["error"])[:200],
            )
        if request.GET.get("iss") and request.GET["iss"].rstrip("/") != settings.OIDC_ISSUER:
            raise oidc.SsoRefused("wrong_issuer", "The answer came from another issuer than the hospital's.")
        result = oidc.exchange(code=request.GET.get("code", ""), started=started)
        user = services.sso_user_for(issuer=settings.OIDC_ISSUER, claims=result.claims)
    except oidc.SsoRefused as refusal:
        return _sso_refused(request, refusal)
    login(request, user, backend="cases.auth.ModelBackend")
    request.session[ID_TOKEN_SESSION_KEY] = result.id_token
    amr = result.claims.get("amr") or []
    if settings.OIDC_TRUST_PROVIDER_MFA and isinstance(amr, list) and PROVIDER_MFA & {str(m) for m in amr}:
        set_mfa_state(request.session, MFA_OK)
        audit_record(actor=user, action="mfa.verified", obj=user, changes={"method": "provider", "amr": amr})
    return redirect(started["next"])


def _sso_refused(request, refusal: oidc.SsoRefused):
    services.sso_refusal_record(refusal=refusal, issuer=settings.OIDC_ISSUER)
    status = 400 if refusal.code.startswith("state_") else 403
    return render(request, "identity/sso_refused.html", {"refusal": refusal}, status=status)


@require_POST
def sign_out(request):
    """Ends the session here and, where the provider supports it, the provider's session too."""
    id_token = request.session.get(ID_TOKEN_SESSION_KEY, "")
    user = request.user if request.user.is_authenticated else None
    logout(request)  # audited as auth.logout, like every sign-out (cases/auth.py)
    provider = oidc.logout_url(
        id_token=id_token,
        post_logout_redirect_uri=request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL)),
    )
    if provider and user is not None:
        audit_record(actor=user, action="sso.logout", obj=user, changes={"issuer": settings.OIDC_ISSUER})
    return redirect(provider or settings.LOGOUT_REDIRECT_URL)


# The second factor ---------------------------------------------------------------------------


def _refuse_code(request, user) -> bool:
    """Counts a wrong code as a failed sign-in (django-axes); True when that locks the account out."""
    credentials = {"username": user.get_username()}
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    return getattr(request, "axes_locked_out", False) or AxesProxyHandler.is_locked(request, credentials)


@login_required
def mfa_verify(request):
    if mfa_state(request.session) != MFA_VERIFY:
        return redirect("mfa-enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            method = services.second_factor_verify(user=request.user, code=form.cleaned_data["code"])
        except services.SecondFactorRefused as refusal:
            if _refuse_code(request, request.user):
                logout(request)
                return render(request, "registration/locked_out.html", status=403)
            form.add_error("code", refusal.message)
        else:
            set_mfa_state(request.session, MFA_OK)
            if method == "recovery":
                messages.warning(request, "You used a recovery code. Each works once: enrol your app again soon.")
            return redirect(_safe_next(request, request.POST.get("next", "")))
    return form_page(
        request,
        form,
        title="Second factor",
        submit_label="Continue",
        cancel="logout-page",
        intro="Enter the code from your authenticator app (or a recovery code) to finish signing in.",
        template="identity/mfa_verify.html",
        has_keys=request.user.webauthn_credentials.exists(),
    )


@login_required
def mfa_enrol(request):
    """Enrolment, or re-enrolment once this session has passed the second factor."""
    if mfa_state(request.session) == MFA_VERIFY:
        return redirect("mfa-verify")
    secret = request.session.get(PENDING_SECRET_SESSION_KEY) or services.totp_new_secret()
    request.session[PENDING_SECRET_SESSION_KEY] = secret
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, codes = submit(form, lambda: _enrol(request, secret, form.cleaned_data["code"]))
        if ok:
            # Shown once, on the next page (so that a reload does not enrol again), then forgotten.
            request.session[RECOVERY_CODES_SESSION_KEY] = codes
            return redirect(
                f"{reverse('mfa-recovery-codes')}?next={quote(_safe_next(request, request.POST.get('next', '')))}"
            )
    enrolled = services.mfa_enrolled(request.user)
    return form_page(
        request,
        form,
        title="Set up a new authenticator" if enrolled else "Set up your second factor",
        submit_label="Confirm",
        cancel="logout-page" if mfa_state(request.session) == MFA_ENROL else "dashboard",
        template="identity/mfa_enrol.html",
        secret=secret,
        uri=(uri := services.totp_uri(user=request.user, secret=secret)),
        qr_svg=mark_safe(services.totp_qr_svg(uri)),  # segno's own markup: paths of the code, nothing of the user's
        enrolled=enrolled,
    )


@login_required
def mfa_recovery_codes(request):
    codes = request.session.pop(RECOVERY_CODES_SESSION_KEY, None)
    if not codes:
        return redirect("mfa-enrol")
    next_url = _safe_next(request, request.GET.get("next", ""))
    return render(request, "identity/recovery_codes.html", {"codes": codes, "next": next_url})


def _enrol(request, secret: str, code: str) -> list[str]:
    try:
        codes = services.totp_enrol(user=request.user, secret=secret, code=code)
    except services.SecondFactorRefused as refusal:
        raise ValidationError({"code": refusal.message}) from None
    request.session.pop(PENDING_SECRET_SESSION_KEY, None)
    set_mfa_state(request.session, MFA_OK)
    return codes


def signed_out_page(request):
    """Where "cancel" on the second-factor page leads: a button that signs out."""
    return render(request, "identity/sign_out.html")


# Break-the-glass -----------------------------------------------------------------------------


def _break_glass_opened(result) -> str:
    if isinstance(result, Patient):
        return "This patient is already on one of your boards: no emergency access is needed."
    return "Emergency access is open, read-only. Every page you read is recorded and reviewed by the board."


@login_required
def break_glass_new(request):
    if not services.is_clinician(request.user):
        raise PermissionDenied("Only a clinician member of a board may open emergency access.")
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # The lookup on its own, outside the once-only open: a number that names no one stays recorded.
        ok, patient = submit(form, lambda: services.break_glass_patient(user=request.user, mrn=data["mrn"]))
        if ok:
            ok, access = submit_once(request, form, lambda: services.break_glass_open(
                user=request.user, patient=patient, reason=data["reason"]),
                scope="break_glass.open", done=_break_glass_opened)  # fmt: skip
        if ok and isinstance(access, Patient):
            return redirect("patient-detail", access.pk)
        if ok:
            break_glass_remember(request.session, access=access)
            return redirect("break-glass-detail", access.pk)
    return form_page(
        request,
        form,
        title="Emergency access",
        submit_label="Open read-only access",
        cancel="dashboard",
        intro=(
            f"For an emergency only: read-only access to one patient of another board for "
            f"{settings.BREAK_GLASS_MINUTES} minutes. Every access is recorded and reviewed by that board."
        ),
    )


@login_required
def break_glass_detail(request, pk):
    access = services.break_glass_for_user(user=request.user, pk=pk)
    cases = list(access.patient.cases.select_related("board").order_by("-created_at"))
    audit_record(
        actor=request.user, action="break_glass.patient_view", obj=access.patient, changes={"access": access.pk}
    )
    return render(
        request, "identity/break_glass_detail.html", {"access": access, "patient": access.patient, "cases": cases}
    )


@login_required
def break_glass_case(request, pk, case_pk):
    access = services.break_glass_for_user(user=request.user, pk=pk)
    case = selectors.case_detail_for_patient(patient=access.patient, pk=case_pk)
    audit_record(actor=request.user, action="break_glass.case_view", obj=case, changes={"access": access.pk})
    # emergency: the case's pages elsewhere (codes, meetings) stay closed to this access, so they are not linked.
    context = case_page_context(request.user, case) | {"access": access, "emergency": True}
    return render(request, "identity/break_glass_case.html", context)


@login_required
def break_glass_review(request):
    accesses = services.break_glass_reviewable_by(request.user)
    if not (permissions.can_read_audit(request.user) or services.reviews_break_glass(request.user)):
        raise PermissionDenied("Only a board's coordinators and the auditors review emergency accesses.")
    page = Paginator(accesses, 25).get_page(request.GET.get("page"))
    audit_list(
        actor=request.user,
        action="break_glass.review_view",
        query=request.GET,
        rows=page,
        object_type="break_glass_access",
    )
    return render(request, "identity/break_glass_review.html", {"page": page, "form": AcknowledgeForm()})


@login_required
@require_POST
def break_glass_acknowledge(request, pk):
    form = AcknowledgeForm(request.POST)
    return form_view(
        request,
        form,
        lambda: services.break_glass_acknowledge(access_pk=pk, by=request.user, comment=form.cleaned_data["comment"]),
        done="The emergency access is acknowledged.",
        success="break-glass-review",
        title="Acknowledge emergency access",
        submit_label="Acknowledge",
        cancel="break-glass-review",
    )


# Security keys and passkeys (WebAuthn) ---------------------------------------------------------
# The browser's script (static/js/passkeys.js) asks for options, runs the ceremony, and sends the
# answer back as a form field; these answer JSON.


def _json_refusal(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


@login_required
@require_POST
def passkey_register_options(request):
    if mfa_state(request.session) == MFA_VERIFY:
        return _json_refusal("Give your current second factor first.", 403)
    return HttpResponse(passkeys.registration_begin(request), content_type="application/json")


@login_required
@require_POST
def passkey_register(request):
    if mfa_state(request.session) == MFA_VERIFY:
        return _json_refusal("Give your current second factor first.", 403)
    form = PasskeyForm(request.POST)
    if not form.is_valid():
        return _json_refusal(" ".join(e for errors in form.errors.values() for e in errors))
    try:
        codes = passkeys.registration_finish(
            request, raw=form.cleaned_data["credential"], name=form.cleaned_data["name"]
        )
    except services.SecondFactorRefused as refusal:
        return _json_refusal(refusal.message)
    set_mfa_state(request.session, MFA_OK)
    next_url = _safe_next(request, request.POST.get("next", ""))
    if codes:
        request.session[RECOVERY_CODES_SESSION_KEY] = codes
        next_url = f"{reverse('mfa-recovery-codes')}?next={quote(next_url)}"
    return JsonResponse({"redirect": next_url})


@login_required
@require_POST
def passkey_options(request):
    if mfa_state(request.session) != MFA_VERIFY:
        return _json_refusal("No second factor is asked of this session.", 403)
    return HttpResponse(passkeys.authentication_begin(request, request.user), content_type="application/json")


@login_required
@require_POST
def passkey_verify(request):
    if mfa_state(request.session) != MFA_VERIFY:
        return _json_refusal("No second factor is asked of this session.", 403)
    form = PasskeyForm(request.POST)
    if not form.is_valid():
        return _json_refusal(" ".join(e for errors in form.errors.values() for e in errors))
    try:
        passkeys.authentication_finish(request, request.user, raw=form.cleaned_data["credential"])
    except services.SecondFactorRefused as refusal:
        audit_record(actor=request.user, action="auth.mfa_failed", obj=request.user, changes={"method": "webauthn"})
        if _refuse_code(request, request.user):
            logout(request)
            return _json_refusal("Too many failed attempts: this account is locked for a while.", 403)
        return _json_refusal(refusal.message)
    set_mfa_state(request.session, MFA_OK)
    return JsonResponse({"redirect": _safe_next(request, request.POST.get("next", ""))})
