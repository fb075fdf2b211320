from django.contrib.auth import views as auth_views
from django.urls import path

from . import printing, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.dashboard, name="dashboard"),
    path("cases/<int:pk>/summary.pdf", printing.case_summary_pdf, name="case-summary-pdf"),
    path("meetings/<int:pk>/packet.pdf", printing.meeting_packet_pdf, name="meeting-packet-pdf"),
]
