import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from proposals import synthetic


class Command(BaseCommand):
    help = (
        "Generate a reproducible synthetic record of any size (every participant's position on "
        "every decision), then recompute every outcome once. For load and performance tests; "
        "refuses to run in production."
    )

    def add_arguments(self, parser):
        defaults = synthetic.Sizes()
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument("--meetings", type=int, default=defaults.meetings)
        parser.add_argument("--participants", type=int, default=defaults.participants)
        parser.add_argument("--agenda-items", type=int, default=defaults.agenda_items)
        parser.add_argument("--decisions", type=int, default=defaults.decisions)
        parser.add_argument("--letters", type=int, default=defaults.letters)
        parser.add_argument(
            "--flush", action="store_true", help="Delete an earlier synthetic record first."
        )
        parser.add_argument(
            "--flush-only",
            action="store_true",
            help="Delete the synthetic record (and recompute the rest), generate nothing.",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Refusing to write invented records into a production database.")
        # Straight to sys.stderr: the command's OutputWrapper would end every redraw of a bar
        # with a newline.
        progress = None if options["no_progress"] or options["verbosity"] < 1 else sys.stderr
        if options["flush_only"]:
            deleted = synthetic.flush(progress=progress)
            self.stdout.write(
                "Deleted the synthetic record: "
                + ", ".join(f"{n:,} {name}" for name, n in deleted.items())
                + "."
            )
            return
        sizes = synthetic.Sizes(
            meetings=options["meetings"],
            participants=options["participants"],
            agenda_items=options["agenda_items"],
            decisions=options["decisions"],
            letters=options["letters"],
        )
        try:
            report = synthetic.generate(
                sizes=sizes,
                seed=options["seed"],
                flush_first=options["flush"],
                progress=progress,
            )
        except synthetic.SyntheticRecordError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.summary())
