"""Signing in and changing a password: Django's views, answering a refused form with 400 like every other form."""

from django.contrib.auth import views as auth_views


class RefusedFormStatus:
    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class LoginView(RefusedFormStatus, auth_views.LoginView):
    pass


class PasswordChangeView(RefusedFormStatus, auth_views.PasswordChangeView):
    pass
