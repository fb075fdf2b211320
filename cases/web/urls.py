from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import include, path

from ..identity import views as identity_views
from . import printing
from .views import (
    analytics,
    audit,
    auth,
    calendars,
    cases,
    coding,
    dashboard,
    health,
    inbox,
    jobs,
    meetings,
    records,
    registry,
    teaching,
)

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
    path("logout/", identity_views.sign_out, name="logout"),  # ends the provider's session too (RP-initiated)
    path("sign-out-everywhere/", auth.sign_out_everywhere, name="sign-out-everywhere"),
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
    path("input/<int:pk>/confirm/", records.opinion_confirm, name="opinion-confirm"),
    path("cases/<int:pk>/decision/", records.decision_edit, name="decision-edit"),
    path("decisions/<int:pk>/sign/", records.decision_sign, name="decision-sign"),
    path("decisions/<int:pk>/correct/", records.decision_correct, name="decision-correct"),
    path("cases/<int:pk>/surveillance/", records.surveillance_apply, name="surveillance-apply"),
    path("follow-ups/<int:pk>/done/", records.follow_up_done, name="follow-up-done"),
    path("follow-ups/<int:pk>/deviate/", records.follow_up_deviate, name="follow-up-deviate"),
    # Coded data (issue 14)
    path("cases/<int:pk>/coding/", coding.case_coding, name="case-coding"),
    path("cases/<int:pk>/coding/primary/", coding.coding_primary, name="coding-primary"),
    path("cases/<int:pk>/coding/comorbidities/", coding.coding_comorbidity, name="coding-comorbidity"),
    path("cases/<int:pk>/coding/staging/", coding.coding_staging, name="coding-staging"),
    path("codes/search/", coding.code_search, name="code-search"),
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
    path("meetings/<int:pk>/cancel/", meetings.meeting_cancel, name="meeting-cancel"),
    path("meetings/<int:pk>/move/", meetings.meeting_move, name="meeting-move"),
    path("meetings/<int:pk>/attendance/correct/", meetings.attendance_correct, name="attendance-correct"),
    path("meetings/<int:pk>/run/", meetings.meeting_run, name="meeting-run"),
    path("meetings/<int:pk>/run/<int:item_pk>/", meetings.meeting_run, name="meeting-run-item"),
    path("agenda-items/<int:pk>/", meetings.agenda_item_update, name="agenda-item-update"),
    path("agenda-items/<int:pk>/remove/", meetings.agenda_item_remove, name="agenda-item-remove"),
    path("agenda-items/<int:pk>/outcome/", meetings.agenda_outcome, name="agenda-outcome"),
    path("meetings/<int:pk>/calendar.ics", calendars.meeting_calendar, name="meeting-calendar"),
    # Calendar feeds: the secret address is the credential (calendar programs cannot sign in)
    path("calendar/", calendars.calendar_settings, name="calendar-settings"),
    # Notifications
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/read/", inbox.inbox_read, name="inbox-read"),
    path("inbox/settings/", inbox.notification_preferences, name="notification-preferences"),
    path("calendar/<str:token>.ics", calendars.calendar_feed, name="calendar-feed"),
    # Audit trail (auditors and administrators)
    path("audit/", audit.audit_log, name="audit-log"),
    # Board analytics (coordinators, chairs, auditors)
    path("analytics/", analytics.analytics_home, name="analytics-home"),
    path("boards/<int:pk>/analytics/", analytics.board_analytics, name="board-analytics"),
    path("boards/<int:pk>/analytics/<slug:table>.csv", analytics.board_analytics_csv, name="board-analytics-csv"),
    path("boards/<int:pk>/discordance/", analytics.discordance_register, name="board-discordance"),
    path("boards/<int:pk>/report.pdf", analytics.board_report_pdf, name="board-report-pdf"),
    # Identity: single sign-on, the second factor, break-the-glass (cases/identity/)
    path("", include("cases.identity.urls")),
    # Paper
    path("cases/<int:pk>/summary.pdf", printing.case_summary_pdf, name="case-summary-pdf"),
    path("meetings/<int:pk>/packet.pdf", printing.meeting_packet_pdf, name="meeting-packet-pdf"),
    # Teaching sets (de-identified copies, reviewed)
    path("teaching/", teaching.teaching_list, name="teaching-list"),
    path("cases/<int:pk>/teaching/new/", teaching.teaching_new_case, name="teaching-new-case"),
    path("meetings/<int:pk>/teaching/new/", teaching.teaching_new_meeting, name="teaching-new-meeting"),
    path("teaching/<int:pk>/", teaching.teaching_detail, name="teaching-detail"),
    path("teaching/<int:pk>/text/", teaching.teaching_text, name="teaching-text"),
    path("teaching/<int:pk>/image/", teaching.teaching_image, name="teaching-image"),
    path("teaching/<int:pk>/approve/", teaching.teaching_approve, name="teaching-approve"),
    path("teaching/<int:pk>/teaching.pdf", teaching.teaching_pdf, name="teaching-pdf"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job-detail"),
]
