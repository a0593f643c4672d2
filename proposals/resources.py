"""Import and export columns of positions, by public identifier: decision slugs, participant
and observer codes, letter slugs (kp_tracker/admin_io.py)."""

from kp_tracker.admin_io import RecordResource, reference
from participants.models import Observer, Participant
from proposals.consensus import engine
from proposals.models import Decision, Letter, Position


class PositionResource(RecordResource):
    decision = reference("decision", Decision, "slug")
    participant = reference("participant", Participant, "code")
    observer = reference("observer", Observer, "code")
    letter = reference("letter", Letter, "slug")

    class Meta(RecordResource.Meta):
        model = Position
        fields = ["decision", "participant", "observer", "stance", "reason", "letter", "sources"]
        import_id_fields = ["decision", "participant", "observer"]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.decisions_touched: set[int] = set()

    def after_save_instance(self, instance: Position, row, **kwargs) -> None:
        self.decisions_touched.add(instance.decision_id)

    def after_import(self, dataset, result, **kwargs) -> None:
        # Each saved position already recomputed its decision through the signals; this keeps
        # the outcomes right should the import ever write in bulk (which sends no signals).
        if self.decisions_touched and not result.has_errors():
            engine.recompute(Decision.objects.filter(pk__in=self.decisions_touched))
