from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from . import tokens, views
from .errors import not_found


class Router(SimpleRouter):
    """Downloads are named like files, `cases/{id}/summary.pdf`, without the other actions' trailing slash."""

    def get_routes(self, viewset):
        routes = super().get_routes(viewset)
        return [
            route._replace(
                url=route.url.replace(r"\.pdf{trailing_slash}", r"\.pdf").replace(r"\.ics{trailing_slash}", r"\.ics")
            )
            for route in routes
        ]


router = Router()
router.register("patients", views.PatientViewSet, basename="patient")
router.register("boards", views.BoardViewSet, basename="board")
router.register("cases", views.CaseViewSet, basename="case")
router.register("imaging-studies", views.ImagingStudyViewSet, basename="imaging-study")
router.register("pathology-reports", views.PathologyReportViewSet, basename="pathology-report")
router.register("opinions", views.OpinionViewSet, basename="opinion")
router.register("meetings", views.MeetingViewSet, basename="meeting")
router.register("decisions", views.DecisionViewSet, basename="decision")
router.register("follow-ups", views.FollowUpViewSet, basename="follow-up")
router.register("jobs", views.JobViewSet, basename="job")

# Namespaced: the router's names (case-detail, …) would otherwise shadow the portal's.
app_name = "api"

urlpatterns = [
    path("auth/token/", tokens.TokenCreateView.as_view(), name="api-token"),
    path("auth/logout/", tokens.TokenRevokeView.as_view(), name="api-logout"),
    *router.urls,
    re_path(r"^.*$", not_found),
]
