import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kp_tracker.settings")

app = Celery("kp_tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
