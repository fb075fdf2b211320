"""Signing in, changing a password and signing out everywhere: Django's views, answering a refused form with
400 like every other form."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ...services.accounts import EPOCH_SESSION_KEY, credential_epoch, credentials_revoke


class RefusedFormStatus:
    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class LoginView(RefusedFormStatus, auth_views.LoginView):
    pass


class PasswordChangeView(RefusedFormStatus, auth_views.PasswordChangeView):
    def form_valid(self, form):
        # Saving the new password ended every session and token of the user; this session carries on.
        response = super().form_valid(form)
        self.request.session[EPOCH_SESSION_KEY] = credential_epoch(form.user.__class__.objects.get(pk=form.user.pk))
        return response


@login_required
@require_POST
def sign_out_everywhere(request):
    credentials_revoke(user=request.user, by=request.user, reason="signed_out_everywhere")
    logout(request)
    messages.success(request, "You are signed out on every device, and every API token of yours is revoked.")
    return redirect("login")
