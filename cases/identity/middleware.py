import re
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from .session import MFA_ENROL, MFA_OK, mfa_state
from .signals import decide_mfa_state

# What a person who still owes a second factor may reach: the second-factor pages and signing out.
OPEN = re.compile(r"^/(account/second-factor/|logout/|login/|static/)")


class MfaMiddleware:
    """A signed-in user who must enrol or give a code is sent there before anything else (the API answers 403)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not OPEN.match(request.path):
            state = mfa_state(request.session)
            if state is None:  # a session from before this rule: decide now, once
                state = decide_mfa_state(request.session, user)
            if state != MFA_OK:
                return self.refuse(request, state)
        return self.get_response(request)

    def refuse(self, request, state: str):
        if request.path.startswith("/api/"):
            message = "Complete the second factor in the portal first, or ask for a token with your code."
            return JsonResponse({"detail": message, "code": "mfa_required"}, status=403)
        target = reverse("mfa-enrol" if state == MFA_ENROL else "mfa-verify")
        return redirect(f"{target}?next={quote(request.get_full_path())}")


class ProviderSignOutCspMiddleware:
    """Lets the sign-out form's redirect reach the provider's end-session page: CSP form-action covers
    the redirects after a form is sent, and the provider is another origin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.OIDC_ISSUER and settings.OIDC_PROVIDER_LOGOUT:
            parts = urlsplit(settings.OIDC_ISSUER)
            update = dict(getattr(response, "_csp_update", None) or {})
            update["form-action"] = [*update.get("form-action", []), f"{parts.scheme}://{parts.netloc}"]
            response._csp_update = update
        return response
