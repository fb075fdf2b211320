from django.urls import path

from . import views

urlpatterns = [
    path("login/sso/", views.sso_begin, name="sso-begin"),
    path("login/sso/callback/", views.sso_callback, name="sso-callback"),
    path("account/second-factor/", views.mfa_verify, name="mfa-verify"),
    path("account/second-factor/enrol/", views.mfa_enrol, name="mfa-enrol"),
    path("account/second-factor/recovery-codes/", views.mfa_recovery_codes, name="mfa-recovery-codes"),
    path("account/second-factor/key/register/options/", views.passkey_register_options, name="passkey-reg-options"),
    path("account/second-factor/key/register/", views.passkey_register, name="passkey-register"),
    path("account/second-factor/key/options/", views.passkey_options, name="passkey-options"),
    path("account/second-factor/key/", views.passkey_verify, name="passkey-verify"),
    path("account/second-factor/sign-out/", views.signed_out_page, name="logout-page"),
    path("emergency-access/", views.break_glass_new, name="break-glass-new"),
    path("emergency-access/review/", views.break_glass_review, name="break-glass-review"),
    path("emergency-access/review/<int:pk>/", views.break_glass_acknowledge, name="break-glass-acknowledge"),
    path("emergency-access/<int:pk>/", views.break_glass_detail, name="break-glass-detail"),
    path("emergency-access/<int:pk>/cases/<int:case_pk>/", views.break_glass_case, name="break-glass-case"),
]
