from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

# The schema and its docs describe every operation: for signed-in users only (a token or a session).
# The docs page loads its start-up script from its own URL (?script), so the CSP needs no inline script.
signed_in = {"permission_classes": [IsAuthenticated]}

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(**signed_in), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", **signed_in), name="api-docs"),
    path("api/v1/", include("cases.api.urls")),
    path("", include("cases.web.urls")),
]

# Requests refused before a form could read them get a page (or, under /api/, JSON) with the reason.
handler400 = "cases.web.errors.bad_request"
