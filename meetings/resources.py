"""Import and export columns of meetings and agenda items, by public identifier: meeting slugs,
participant codes and observer codes (kp_tracker/admin_io.py)."""

from import_export import fields

from kp_tracker.admin_io import RecordResource, reference, references
from meetings.models import AgendaItem, Meeting
from participants.models import Observer, Participant


class MeetingResource(RecordResource):
    host = reference("host", Participant, "code")
    chair = reference("chair", Participant, "code")

    class Meta(RecordResource.Meta):
        model = Meeting
        fields = [
            "slug",
            "kind",
            "title",
            "host",
            "city",
            "country",
            "start_date",
            "end_date",
            "chair",
            "communique_adopted",
            "summary",
            "sources",
        ]
        import_id_fields = ["slug"]


class AgendaItemResource(RecordResource):
    meeting = reference("meeting", Meeting, "slug")
    proposers = references("proposers", Participant, "code")
    observer_proposers = references("observer_proposers", Observer, "code")
    # Set by the consensus engine: exported for reading, never imported.
    removed_by = fields.Field(attribute="removed_by__slug", column_name="removed_by", readonly=True)

    class Meta(RecordResource.Meta):
        model = AgendaItem
        fields = [
            "meeting",
            "title",
            "description",
            "time_slot_minutes",
            "proposers",
            "observer_proposers",
            "proposers_note",
            "removed_by",
            "sources",
        ]
        import_id_fields = ["meeting", "title"]
