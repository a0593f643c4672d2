"""Reads of sources for the public pages: each queryset owns its joins."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db.models import QuerySet

from sources.models import Source, Sourced

# What each kind of fact needs joined so that its page link and label cost no further query.
FACT_JOINS: dict[str, tuple[str, ...]] = {
    "participants.participantstatus": ("participant",),
    "participants.role": ("person", "participant", "observer"),
    "participants.chairmanship": ("participant", "body"),
    "meetings.meeting": ("host",),
    "meetings.agendaversion": ("meeting",),
    "meetings.agendaitem": ("meeting",),
    "meetings.session": ("meeting",),
    "proposals.position": ("decision", "participant", "observer"),
    "proposals.reportedaccount": ("decision",),
}
FACTS_SHOWN = 50


@dataclass
class FactGroup:
    """The facts of one kind that a source supports: the first FACTS_SHOWN and the total."""

    model: type
    facts: list
    total: int

    @property
    def title(self) -> str:
        return str(self.model._meta.verbose_name_plural).capitalize()

    @property
    def more(self) -> int:
        return self.total - len(self.facts)


def source_list() -> QuerySet[Source]:
    return Source.objects.order_by("-published_on", "publisher", "title")


def sourced_models() -> list[type]:
    """Every concrete model whose rows carry sources, in app and model order."""
    return [model for model in apps.get_models() if issubclass(model, Sourced)]


def facts_supported(source: Source) -> list[FactGroup]:
    """What `source` supports, grouped by kind of fact: one query per kind, plus a count only for
    kinds with more than FACTS_SHOWN facts."""
    groups = []
    for model in sourced_models():
        queryset = (
            model._default_manager.filter(sources=source)
            .select_related(*FACT_JOINS.get(model._meta.label_lower, ()))
            .order_by("pk")
        )
        facts = list(queryset[: FACTS_SHOWN + 1])
        # Counted on the link table alone (one row per fact and source), by its index on the
        # source: joining the facts too read 20,000 wide decision rows for the synthetic
        # record's source (16 ms).
        links = model._meta.get_field("sources").remote_field.through.objects
        total = len(facts) if len(facts) <= FACTS_SHOWN else links.filter(source=source).count()
        if facts:
            groups.append(FactGroup(model, facts[:FACTS_SHOWN], total))
    quotes = list(source.quotes.select_related("letter").order_by("pk")[: FACTS_SHOWN + 1])
    if quotes:
        # Quotes carry one source each (a foreign key), not the many-to-many of Sourced.
        total = len(quotes) if len(quotes) <= FACTS_SHOWN else source.quotes.count()
        groups.append(FactGroup(source.quotes.model, quotes[:FACTS_SHOWN], total))
    return groups
