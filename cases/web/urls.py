from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path

from . import printing
from .views import audit, auth, calendars, cases, dashboard, health, jobs, meetings, records, registry

urlpatterns = [
    # Health, for load balancers (no sign-in, no patient data)
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Signing in and out
    path(
        "login/",
        auth.LoginView.as_view(
            redirect_authenticated_user=True, extra_context={"idle_minutes": settings.SESSION_IDLE_MINUTES}
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("", dashboard.dashboard, name="dashboard"),
    # Patients and cases
    path("patients/", registry.patient_list, name="patient-list"),
    path("patients/new/", cases.patient_new, name="patient-new"),
    path("patients/<int:pk>/merge/", registry.patient_merge, name="patient-merge"),
    path("cases/<int:pk>/withdraw/", registry.case_withdraw, name="case-withdraw"),
    path("patients/<int:pk>/", cases.patient_detail, name="patient-detail"),
    path("patients/<int:patient_pk>/cases/new/", cases.case_new, name="case-new"),
    path("cases/", cases.case_list, name="case-list"),
    path("cases/<int:pk>/", cases.case_detail, name="case-detail"),
    path("cases/<int:pk>/referral/", cases.referral_edit, name="referral-edit"),
    path("cases/<int:pk>/move/back/", cases.case_move_back, name="case-move-back"),
    path("cases/<int:pk>/move/<slug:to>/", cases.case_move, name="case-move"),
    # Clinical records
    path("cases/<int:pk>/imaging/new/", records.imaging_new, name="imaging-new"),
    path("imaging/<int:pk>/amend/", records.imaging_amend, name="imaging-amend"),
    path("imaging/<int:pk>/addendum/", records.imaging_addendum, name="imaging-addendum"),
    path("key-images/<int:pk>/", records.key_image, name="key-image"),
    path("cases/<int:pk>/pathology/new/", records.pathology_new, name="pathology-new"),
    path("pathology/<int:pk>/amend/", records.pathology_amend, name="pathology-amend"),
    path("pathology/<int:pk>/sign-out/", records.pathology_sign_out, name="pathology-sign-out"),
    path("cases/<int:pk>/input/", records.opinion_edit, name="opinion-edit"),
    path("cases/<int:pk>/decision/", records.decision_edit, name="decision-edit"),
    path("decisions/<int:pk>/sign/", records.decision_sign, name="decision-sign"),
    path("decisions/<int:pk>/correct/", records.decision_correct, name="decision-correct"),
    path("cases/<int:pk>/surveillance/", records.surveillance_apply, name="surveillance-apply"),
    path("follow-ups/<int:pk>/done/", records.follow_up_done, name="follow-up-done"),
    path("follow-ups/<int:pk>/deviate/", records.follow_up_deviate, name="follow-up-deviate"),
    path("follow-ups/<int:pk>/change/", records.follow_up_change, name="follow-up-change"),
    # Meetings
    path("meetings/", meetings.meeting_list, name="meeting-list"),
    path("meetings/new/", meetings.meeting_new, name="meeting-new"),
    path("meetings/<int:pk>/", meetings.meeting_detail, name="meeting-detail"),
    path("meetings/<int:pk>/agenda/", meetings.agenda_add, name="agenda-add"),
    path("meetings/<int:pk>/agenda/reorder/", meetings.agenda_reorder, name="agenda-reorder"),
    path("meetings/<int:pk>/agenda/publish/", meetings.agenda_publish, name="agenda-publish"),
    path("meetings/<int:pk>/agenda/unpublish/", meetings.agenda_unpublish, name="agenda-unpublish"),
    path("meetings/<int:pk>/attendance/", meetings.attendance_record, name="attendance-record"),
    path("meetings/<int:pk>/status/", meetings.meeting_status, name="meeting-status"),
    path("meetings/<int:pk>/run/", meetings.meeting_run, name="meeting-run"),
    path("meetings/<int:pk>/run/<int:item_pk>/", meetings.meeting_run, name="meeting-run-item"),
    path("agenda-items/<int:pk>/", meetings.agenda_item_update, name="agenda-item-update"),
    path("agenda-items/<int:pk>/remove/", meetings.agenda_item_remove, name="agenda-item-remove"),
    path("agenda-items/<int:pk>/outcome/", meetings.agenda_outcome, name="agenda-outcome"),
    path("meetings/<int:pk>/calendar.ics", calendars.meeting_calendar, name="meeting-calendar"),
    # Calendar feeds: the secret address is the credential (calendar programs cannot sign in)
    path("calendar/", calendars.calendar_settings, name="calendar-settings"),
    path("calendar/<str:token>.ics", calendars.calendar_feed, name="calendar-feed"),
    # Audit trail (auditors and administrators)
    path("audit/", audit.audit_log, name="audit-log"),
    # Paper
    path("cases/<int:pk>/summary.pdf", printing.case_summary_pdf, name="case-summary-pdf"),
    path("meetings/<int:pk>/packet.pdf", printing.meeting_packet_pdf, name="meeting-packet-pdf"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job-detail"),
]
