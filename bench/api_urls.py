from django.urls import include, path

from . import api_bare

urlpatterns = [
    path("bare/cases/", api_bare.case_list),
    path("bare/cases/<int:pk>/", api_bare.case_detail),
    path("", include("tumorboard.urls")),
]
