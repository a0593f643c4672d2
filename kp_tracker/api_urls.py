"""REST API wiring: each app's api.py lists its viewsets (`routes`) and other views (`paths`).

/api/v1/...    the API (the router's root lists the resources)
/api/schema/   the OpenAPI 3 schema (drf-spectacular), YAML or ?format=json
/api/docs/     Swagger UI, served from drf-spectacular-sidecar's local assets (collected static
               files), so nothing is loaded from another host. (No ReDoc: drf-spectacular's
               ReDoc page loads its fonts from Google.)
"""

from django.http import JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from kp_tracker.api_common import error_body
from meetings import api as meetings_api
from participants import api as participants_api
from proposals import api as proposals_api
from sources import api as sources_api

# ?format=json|csv rather than .json/.csv suffixes: one URL per resource.
router = DefaultRouter()
router.include_format_suffixes = False
for module in (participants_api, meetings_api, proposals_api, sources_api):
    for prefix, viewset, basename in module.routes:
        router.register(prefix, viewset, basename=basename)

v1 = [
    *[path(route, view.as_view(), name=name) for route, view, name in proposals_api.paths],
    path("", include(router.urls)),
]


def not_found(request, *args, **kwargs):
    """Any other path under /api/: the API's JSON 404, not Django's HTML page."""
    return JsonResponse(
        error_body(404, "not_found", "No such endpoint; see /api/v1/ and /api/docs/."),
        status=404,
    )


urlpatterns = [
    path("v1/", include((v1, "api"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^.*$", not_found),
]
