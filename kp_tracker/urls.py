"""Root URLs: the admin, the REST API (kp_tracker/api_urls.py) and the public pages
(kp_tracker/page_urls.py). Each app owns its views; these modules only wire them."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("kp_tracker.api_urls")),
    path("", include("kp_tracker.page_urls")),
]
