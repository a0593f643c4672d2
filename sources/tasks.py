"""Background jobs of the public pages."""

from celery import shared_task

from sources import pages


@shared_task(name="sources.refresh_page", ignore_result=True)
def refresh_page(path: str) -> None:
    """Render a page found out of date and keep it (sources/pages.py, the page cache). A page
    already rendered at the current version since is not rendered again."""
    pages.refresh(path)
