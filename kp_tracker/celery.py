import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kp_tracker.settings")

app = Celery("kp_tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def close_old_database_connections(task=None, **kwargs) -> None:
    """Before each task, what Django does before each request: drop a connection that is
    broken, failed its health check or outlived CONN_MAX_AGE. Celery itself then only closes
    connections every twice CELERY_DB_REUSE_MAX tasks (settings.py), not after every task."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # an eager task runs inside the caller's request or transaction
    from django.db import close_old_connections

    close_old_connections()
