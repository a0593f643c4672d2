"""Import and export columns of participants, by ISO code (kp_tracker/admin_io.py)."""

from kp_tracker.admin_io import RecordResource
from participants.models import Participant


class ParticipantResource(RecordResource):
    class Meta(RecordResource.Meta):
        model = Participant
        fields = ["code", "name", "kind", "joined_on", "note", "sources"]
        import_id_fields = ["code"]
