"""Public pages wiring: each app's urls.py is included here."""

from django.urls import include, path

urlpatterns = [
    path("", include("proposals.urls")),
    path("", include("meetings.urls")),
    path("", include("participants.urls")),
    path("", include("sources.urls")),
    path("notifications/", include("notifications.urls")),
]
