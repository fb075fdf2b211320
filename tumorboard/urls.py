from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("cases.api.urls")),
    path("", include("cases.web.urls")),
]

# Requests refused before a form could read them get a page (or, under /api/, JSON) with the reason.
handler400 = "cases.web.errors.bad_request"
