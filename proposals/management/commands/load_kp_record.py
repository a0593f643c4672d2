from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from proposals.record import RECORD_DIR, RecordError, load_record


class Command(BaseCommand):
    help = "Load the real KP record (record/*.yaml) idempotently: running it twice changes nothing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--directory", type=Path, default=RECORD_DIR, help="Folder of record files."
        )

    def handle(self, *args, directory: Path, **options):
        try:
            report = load_record(directory)
        except RecordError as exc:
            raise CommandError(f"The record was not loaded, nothing changed: {exc}") from exc
        self.stdout.write(report.summary())
