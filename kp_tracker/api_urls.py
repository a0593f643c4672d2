"""REST API wiring: each app's api.py registers its viewsets here."""

urlpatterns: list = []
