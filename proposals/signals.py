"""Keep outcomes current: any change to what a decision's outcome rests on recomputes it.

Signals rather than explicit calls because positions are written from the admin's inlines, the
API, the record loader and the shell alike, and no path may forget. The engine writes outcomes
with queryset updates, which send no signals, so this cannot loop. Bulk loaders that bypass
signals (the synthetic record) call `engine.recompute()` once at the end.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from meetings.models import Attendance, Meeting
from participants.models import Participant, ParticipantStatus
from proposals.consensus import engine
from proposals.models import Decision, Position


@receiver(post_save, sender=Position)
@receiver(post_delete, sender=Position)
def position_changed(sender, instance: Position, raw=False, **kwargs) -> None:
    if not raw and Decision.objects.filter(pk=instance.decision_id).exists():
        engine.recompute_decision(instance.decision_id)


@receiver(post_save, sender=Decision)
def decision_saved(sender, instance: Decision, raw=False, **kwargs) -> None:
    if not raw:
        engine.recompute_decision(instance.pk)


@receiver(post_save, sender=Meeting)
def meeting_saved(sender, instance: Meeting, created: bool, **kwargs) -> None:
    """A meeting's new first day is the effective date of its undated decisions.

    Compared with the first day it was loaded with (Meeting.from_db), so the usual save, which
    leaves the day alone, costs no query; an instance not loaded from the database is updated
    to be safe. A queryset update() of start_date must call refresh_effective_dates() itself.
    """
    if created or instance.start_date == getattr(instance, "_loaded_start_date", None):
        return
    Decision.objects.filter(meeting=instance, date__isnull=True).refresh_effective_dates()
    instance._loaded_start_date = instance.start_date


@receiver(m2m_changed, sender=Decision.parties_concerned.through)
def parties_concerned_changed(
    sender, instance, action: str, reverse: bool, pk_set, **kwargs
) -> None:
    if not reverse:
        if action in {"post_add", "post_remove", "post_clear"}:
            engine.recompute_decision(instance.pk)
        return
    # Changed from the participant's side: pk_set names the decisions, except on clear, when
    # they must be noted before they are unlinked.
    if action == "pre_clear":
        instance._decisions_before_clear = list(
            instance.decisions_concerning.values_list("pk", flat=True)
        )
    elif action in {"post_add", "post_remove"}:
        engine.recompute(Decision.objects.filter(pk__in=pk_set or ()))
    elif action == "post_clear":
        cleared = getattr(instance, "_decisions_before_clear", [])
        engine.recompute(Decision.objects.filter(pk__in=cleared))


@receiver(post_save, sender=Attendance)
@receiver(post_delete, sender=Attendance)
def attendance_changed(sender, instance: Attendance, raw=False, **kwargs) -> None:
    if not raw:
        engine.recompute(Decision.objects.filter(meeting_id=instance.meeting_id))


@receiver(post_save, sender=ParticipantStatus)
@receiver(post_delete, sender=ParticipantStatus)
def standing_changed(sender, instance: ParticipantStatus, raw=False, **kwargs) -> None:
    # A suspension changes who counts in every decision over its period, and an edit may have
    # moved that period; statuses change rarely and a whole recompute is a fixed number of queries.
    if not raw:
        engine.recompute()


@receiver(post_save, sender=Participant)
def participant_saved(sender, instance: Participant, created: bool, raw=False, **kwargs) -> None:
    # A new participant, or a changed joining date, changes who takes part in decisions from
    # that date on. Only then: a participant's name or note moves no outcome.
    if raw:
        return
    joined_before = getattr(instance, "_joined_on_loaded", None)
    if created or joined_before != instance.joined_on:
        # A joining date moved either way changes who counted between the old and new dates;
        # participants change rarely, so recompute the record (a fixed number of queries).
        engine.recompute()
    instance._joined_on_loaded = instance.joined_on
