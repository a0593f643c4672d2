"""Public pages wiring: each app's urls.py is included here."""

urlpatterns: list = []
