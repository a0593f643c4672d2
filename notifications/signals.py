"""Record an event for every change that followers hear of, inside the change's transaction.

Signals, like the engine's own, so that the admin, the API, the record loader and the shell all
notify and none can forget. Raw saves (fixtures) are skipped. Outcomes are written by the
engine with queryset updates, which send no post_save: outcome changes, and agenda items removed
by a blocked decision, come from the engine's `outcomes_changed` signal instead.
"""

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from meetings.models import AgendaItem, Meeting
from notifications import services
from proposals.consensus.engine import outcomes_changed
from proposals.models import Decision, Letter, Position


@receiver(post_save, sender=AgendaItem)
def agenda_item_saved(sender, instance: AgendaItem, created: bool, raw=False, **kwargs) -> None:
    if created and not raw:
        services.record_agenda_item_added(item=instance)


@receiver(outcomes_changed)
def outcomes_moved(sender, changes, **kwargs) -> None:
    services.record_outcomes_changed(changes=changes)


@receiver(post_save, sender=Decision)
def decision_saved(sender, instance: Decision, created: bool, raw=False, **kwargs) -> None:
    # Connected after the engine's receiver (proposals comes first in INSTALLED_APPS), so the
    # decision's first outcome is already computed and is folded into this one event.
    if created and not raw:
        services.record_decision_recorded(decision=instance)


@receiver(pre_save, sender=Position)
def position_saving(sender, instance: Position, raw=False, **kwargs) -> None:
    # Only an objection that is new, or newly an objection, is news: remember the stance before.
    instance._stance_before = (
        None
        if raw or instance._state.adding or instance.stance != Position.Stance.OBJECTION
        else Position.objects.filter(pk=instance.pk).values_list("stance", flat=True).first()
    )


@receiver(post_save, sender=Position)
def position_saved(sender, instance: Position, raw=False, **kwargs) -> None:
    if (
        not raw
        and instance.stance == Position.Stance.OBJECTION
        and getattr(instance, "_stance_before", None) != Position.Stance.OBJECTION
    ):
        services.record_objection(position=instance)


@receiver(post_save, sender=Letter)
def letter_saved(sender, instance: Letter, created: bool, raw=False, **kwargs) -> None:
    if created and not raw:
        services.record_letter_added(letter=instance)


@receiver(pre_save, sender=Meeting)
def meeting_saving(sender, instance: Meeting, raw=False, **kwargs) -> None:
    instance._dates_before = (
        None
        if raw or instance._state.adding
        else Meeting.objects.filter(pk=instance.pk).values_list("start_date", "end_date").first()
    )


@receiver(post_save, sender=Meeting)
def meeting_saved(sender, instance: Meeting, created: bool, raw=False, **kwargs) -> None:
    if raw:
        return
    if created:
        services.record_meeting_scheduled(meeting=instance)
        return
    before = getattr(instance, "_dates_before", None)
    if before and before != services.meeting_dates(instance):
        services.record_meeting_dates_changed(
            meeting=instance, old_start=before[0], old_end=before[1]
        )
