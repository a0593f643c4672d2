"""The admin's decision page: a decision and every position on it, recorded on one page.

The editor picks the meeting, then the subject (an agenda item, a proposal or the communique);
every participant taking part is listed (the meeting's attendance where recorded, otherwise
every participant in good standing on the day), then the observers. Saving goes through
`proposals.services.decision_record`, which recomputes the outcome; the page then shows it, the
engine's explanation, and what it did to the subject.

Two editors on the same decision: the decision's own fields are guarded like any change form
(`kp_tracker.admin_locking`). Positions are merged: a row this editor left as it was is not
written, so another editor's change to it stands; a row both changed is refused and shown.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router, transaction
from django.db.models import Q
from django.forms import formset_factory
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import slugify

from kp_tracker.admin_locking import LockedModelForm
from kp_tracker.locking import RecordChanged
from meetings.models import AgendaItem, Attendance, Meeting
from participants.models import Observer, Participant
from proposals.models import Decision, Letter, Position, Proposal
from proposals.services import PositionInput, decision_record, holder_key

SALT = "proposals.admin_record.positions"
NO_STANCE = ""
STANCE_CHOICES = [(NO_STANCE, "— none on record —"), *Position.Stance.choices]


class MeetingChoiceForm(forms.Form):
    """Step one, by GET: which meeting decided."""

    meeting = forms.ModelChoiceField(queryset=Meeting.objects.all())

    def __init__(self, *args, admin_site, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["meeting"]
        field.widget = AutocompleteSelect(Decision._meta.get_field("meeting"), admin_site)
        field.widget.choices = field.choices


class DecisionForm(LockedModelForm):
    """The decision itself, for a meeting fixed by the page."""

    class Meta:
        model = Decision
        fields = [
            "subject_kind",
            "agenda_item",
            "proposal",
            "title",
            "slug",
            "method",
            "date",
            "date_precision",
            "positions_complete",
            "reported_outcome",
            "summary",
            "sources",
        ]
        help_texts = {
            "sources": "The sources of this decision and of the positions set or changed here.",
        }
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 3}),
            "date": admin.widgets.AdminDateWidget,
        }

    def __init__(self, *args, meeting: Meeting, admin_site, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.meeting = meeting
        self.instance.meeting = meeting
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Left empty, it is made from the meeting and the title."
        self.fields["agenda_item"].queryset = AgendaItem.objects.filter(meeting=meeting)
        self.fields["proposal"].queryset = Proposal.objects.filter(
            Q(meeting=meeting) | Q(meeting__isnull=True)
        )
        sources = self.fields["sources"]
        sources.widget = AutocompleteSelectMultiple(Decision._meta.get_field("sources"), admin_site)
        sources.widget.choices = sources.choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("subject_kind")
        # The subject the kind does not use is dropped, so switching kind needs no clearing.
        if kind != Decision.SubjectKind.AGENDA_ITEM:
            cleaned["agenda_item"] = None
        if kind != Decision.SubjectKind.PROPOSAL:
            cleaned["proposal"] = None
        if kind == Decision.SubjectKind.AGENDA_ITEM and not cleaned.get("agenda_item"):
            self.add_error("agenda_item", "Pick the agenda item decided on.")
        if kind == Decision.SubjectKind.PROPOSAL and not cleaned.get("proposal"):
            self.add_error("proposal", "Pick the proposal decided on.")
        if not cleaned.get("slug") and cleaned.get("title"):
            cleaned["slug"] = unique_slug(f"{self.meeting.slug}-{cleaned['title']}", self.instance)
        return cleaned


def unique_slug(text: str, instance: Decision) -> str:
    base = slugify(text)[:110].strip("-") or "decision"
    taken = set(
        Decision.objects.filter(slug__startswith=base)
        .exclude(pk=instance.pk)
        .values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


class PositionRowForm(forms.Form):
    holder = forms.CharField(widget=forms.HiddenInput)
    stance = forms.ChoiceField(choices=STANCE_CHOICES, required=False)
    reason = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"size": 50, "placeholder": "Reason given"})
    )
    letter = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(self, *args, holders: dict[str, Holder], letter_choices: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.holders = holders
        # One list for every row: a queryset per row's select would be a query per participant.
        self.fields["letter"].choices = letter_choices

    @property
    def holder_info(self) -> Holder | None:
        value = self["holder"].value()
        return self.holders.get(value)

    def clean_holder(self) -> str:
        value = self.cleaned_data["holder"]
        if value not in self.holders:
            raise ValidationError("This participant is not on this page; reload it.")
        return value


PositionFormSet = formset_factory(PositionRowForm, extra=0)


@dataclass(frozen=True)
class Holder:
    """One row of the page: a participant taking part, or an observer."""

    key: str
    obj: Participant | Observer
    observer: bool
    counted: bool

    @property
    def label(self) -> str:
        return str(self.obj)


def holder_id(key: tuple[str, int]) -> str:
    return f"{key[0]}:{key[1]}"


def taking_part(meeting: Meeting, day: datetime.date) -> tuple[list[Participant], str]:
    """Who takes part: the attendance where recorded, else those in good standing on `day`.

    The same test as the engine's (`engine.counted_positions`).
    """
    attendees = list(
        Participant.objects.filter(
            pk__in=Attendance.objects.filter(meeting=meeting).values("participant")
        ).order_by("name")
    )
    if attendees:
        return attendees, "attendance"
    return list(Participant.objects.in_good_standing_on(day).order_by("name")), "good_standing"


def position_values(position: Position) -> list:
    return [position.stance, position.reason, position.letter_id]


class DecisionPage:
    """Builds and handles the page for one meeting and (when it exists) one decision."""

    template = "admin/proposals/decision/record.html"

    def __init__(self, model_admin: admin.ModelAdmin, request: HttpRequest, decision: Decision):
        self.model_admin = model_admin
        self.request = request
        self.decision = decision
        self.meeting = decision.meeting

    def effective_date(self) -> datetime.date:
        return self.decision.date or self.meeting.start_date

    def load(self) -> None:
        decision = self.decision
        self.positions = {}
        if decision.pk:
            self.positions = {
                holder_key(position): position for position in decision.positions.order_by()
            }
        participants, self.electorate = taking_part(self.meeting, self.effective_date())
        listed = {participant.pk for participant in participants}
        # Positions of participants not taking part stay visible (they do not count).
        strays = [
            key[1] for key in self.positions if key[0] == "participant" and key[1] not in listed
        ]
        extra = list(Participant.objects.filter(pk__in=strays).order_by("name")) if strays else []
        observers = list(Observer.objects.order_by("name"))
        holders = [Holder(holder_id(("participant", p.pk)), p, False, True) for p in participants]
        holders += [Holder(holder_id(("participant", p.pk)), p, False, False) for p in extra]
        holders += [Holder(holder_id(("observer", o.pk)), o, True, False) for o in observers]
        self.holders = {holder.key: holder for holder in holders}
        year = self.effective_date().year
        used = [p.letter_id for p in self.positions.values() if p.letter_id]
        # Letters of the year and the one before, those already cited, and the proposal's.
        wanted = Q(date__year__in=[year - 1, year]) | Q(pk__in=used)
        if decision.proposal_id:
            wanted |= Q(proposals=decision.proposal_id)
        letters = Letter.objects.filter(wanted).distinct().order_by("-date", "subject")
        self.letters = {letter.pk: letter for letter in letters}
        self.letter_choices = [("", "—")] + [
            (letter.pk, f"{letter.date_display}: {letter.subject}"[:90])
            for letter in self.letters.values()
        ]

    def seen_token(self) -> str:
        seen = {holder_id(key): position_values(p) for key, p in self.positions.items()}
        return signing.dumps(seen, salt=SALT, compress=True)

    def initial_rows(self) -> list[dict[str, Any]]:
        rows = []
        for holder in self.holders.values():
            kind, pk = holder.key.split(":")
            position = self.positions.get((kind, int(pk)))
            rows.append(
                {
                    "holder": holder.key,
                    "stance": position.stance if position else NO_STANCE,
                    "reason": position.reason if position else "",
                    "letter": position.letter_id if position else None,
                }
            )
        return rows

    def forms(self, data=None):
        kwargs = {"meeting": self.meeting, "admin_site": self.model_admin.admin_site}
        decision_form = DecisionForm(data, instance=self.decision, prefix="decision", **kwargs)
        formset = PositionFormSet(
            data,
            initial=None if data is not None else self.initial_rows(),
            prefix="positions",
            form_kwargs={"holders": self.holders, "letter_choices": self.letter_choices},
        )
        return decision_form, formset

    # --- POST --------------------------------------------------------------------------------

    def merge(self, formset, seen: dict[str, list]) -> tuple[list[PositionInput], list[dict]]:
        """The rows this editor changed, and those someone else changed meanwhile as well.

        Rows this editor left as they were are noted in `self.untouched`, so a page shown again
        after a conflict shows them as they now stand (not as they were when first opened).
        """
        changes, conflicts = [], []
        self.untouched = set()
        for form in formset.forms:
            holder = self.holders[form.cleaned_data["holder"]]
            kind, pk = holder.key.split(":")
            yours = [
                form.cleaned_data["stance"],
                form.cleaned_data["reason"].strip(),
                form.cleaned_data["letter"],
            ]
            opened = seen.get(holder.key, [NO_STANCE, "", None])
            current_position = self.positions.get((kind, int(pk)))
            now = position_values(current_position) if current_position else [NO_STANCE, "", None]
            if yours == opened or yours == now:
                # Untouched here, or already as wanted: another editor's work stands.
                self.untouched.add(form.prefix)
                continue
            if now != opened:
                conflicts.append(
                    {
                        "holder": holder,
                        "opened": self.describe(opened),
                        "now": self.describe(now),
                        "yours": self.describe(yours),
                    }
                )
                continue
            letter = self.letters.get(yours[2]) if yours[2] else None
            changes.append(
                PositionInput(
                    participant=None if holder.observer else holder.obj,
                    observer=holder.obj if holder.observer else None,
                    stance=yours[0],
                    reason=yours[1],
                    letter=letter,
                )
            )
        return changes, conflicts

    def refreshed(self, data, formset):
        """The formset for showing again: this editor's edits, the rest as now on record."""
        data = data.copy()
        for form in formset.forms:
            if form.prefix not in self.untouched:
                continue
            kind, pk = form.cleaned_data["holder"].split(":")
            position = self.positions.get((kind, int(pk)))
            stance, reason, letter = position_values(position) if position else ["", "", None]
            data[form.add_prefix("stance")] = stance
            data[form.add_prefix("reason")] = reason
            data[form.add_prefix("letter")] = "" if letter is None else str(letter)
        return self.forms(data)[1]

    def describe(self, values: list) -> str:
        stance, reason, letter_id = values
        text = dict(STANCE_CHOICES)[stance] if stance in dict(STANCE_CHOICES) else stance
        if reason:
            text += f": “{reason}”"
        if letter_id:
            letter = self.letters.get(letter_id)
            text += f" (letter: {letter.subject if letter else letter_id})"
        return text


def record_view(model_admin, request: HttpRequest, object_id: str | None = None) -> HttpResponse:
    """GET shows the page; POST saves the decision and its positions and shows the outcome."""
    if object_id is not None:
        decision = get_object_or_404(
            Decision.objects.select_related("meeting", "agenda_item", "proposal"), pk=object_id
        )
        if decision.meeting is None:
            messages.warning(
                request, "This decision names no meeting: edit its positions on its own page."
            )
            return HttpResponseRedirect(
                reverse("admin:proposals_decision_change", args=[decision.pk])
            )
    else:
        decision = Decision(subject_kind=Decision.SubjectKind.AGENDA_ITEM)
    can_change = (
        model_admin.has_change_permission(request, decision)
        if decision.pk
        else model_admin.has_add_permission(request)
    )
    if not (can_change or model_admin.has_view_permission(request, decision)):
        raise PermissionDenied
    if request.method == "POST" and not can_change:
        raise PermissionDenied

    if decision.pk is None:
        choice = MeetingChoiceForm(request.GET or None, admin_site=model_admin.admin_site)
        if not choice.is_valid():
            return _render(model_admin, request, {"choice_form": choice, "decision": decision})
        decision.meeting = choice.cleaned_data["meeting"]
        _prefill(decision, request)

    page = DecisionPage(model_admin, request, decision)
    if request.method != "POST":
        page.load()
        decision_form, formset = page.forms()
        return _render_page(model_admin, request, page, decision_form, formset, can_change)

    with transaction.atomic(using=router.db_for_write(Decision)):
        if decision.pk:
            # The positions are read under lock: the merge below compares against them.
            Position.objects.select_for_update().filter(decision=decision).exists()
        page.load()
        decision_form, formset = page.forms(request.POST)
        conflicts: list[dict] = []
        try:
            seen = signing.loads(request.POST.get("positions_seen", ""), salt=SALT)
        except signing.BadSignature:
            seen = None
            formset_error = "This page was not opened from the record as it stands; reload it."
        else:
            formset_error = ""
        valid = decision_form.is_valid() and formset.is_valid() and seen is not None
        if valid:
            changes, conflicts = page.merge(formset, seen)
        if valid and not conflicts:
            try:
                # A savepoint: a refusal below leaves the transaction usable for the page.
                with transaction.atomic(using=router.db_for_write(Decision)):
                    result = decision_record(
                        decision=decision_form.save(commit=False),
                        positions=changes,
                        actor=request.user,
                        sources=list(decision_form.cleaned_data["sources"]),
                    )
            except ValidationError as exc:
                decision_form.add_error(None, exc)
            except RecordChanged:
                decision_form.add_error(
                    None, "Someone else saved this decision a moment ago; reload the page."
                )
            else:
                _log(model_admin, request, result)
                messages.success(
                    request,
                    f"Saved: {result.created} position(s) added, {result.updated} changed, "
                    f"{result.deleted} removed. Outcome under the KP's rule: "
                    f"{result.decision.get_outcome_display().lower()}.",
                )
                return HttpResponseRedirect(
                    reverse("admin:proposals_decision_record", args=[result.decision.pk])
                )
        if conflicts:
            formset = page.refreshed(request.POST, formset)
            formset_error = (
                "Someone else changed these positions after you opened the page; nothing was "
                "saved. Your values are kept below: save again to keep them."
            )
    context_extra = {"conflicts": conflicts, "formset_error": formset_error}
    # A fresh snapshot: the next save is judged against the record as it now stands.
    return _render_page(
        model_admin, request, page, decision_form, formset, can_change, **context_extra
    )


def _prefill(decision: Decision, request: HttpRequest) -> None:
    """Links from an agenda item or a proposal open the page with that subject chosen."""
    item = request.GET.get("agenda_item", "")
    proposal = request.GET.get("proposal", "")
    if item.isdigit():
        found = AgendaItem.objects.filter(pk=item, meeting=decision.meeting).first()
        if found:
            decision.subject_kind, decision.agenda_item = Decision.SubjectKind.AGENDA_ITEM, found
            decision.title = f"Keep “{found.title}” on the agenda"[:300]
    elif proposal.isdigit():
        found = Proposal.objects.filter(pk=proposal).first()
        if found:
            decision.subject_kind, decision.proposal = Decision.SubjectKind.PROPOSAL, found
            decision.title = f"Adopt “{found.title}”"[:300]


def _log(model_admin, request, result) -> None:
    decision = result.decision
    message = [
        {"changed": {"fields": ["positions"]}} if result.changed else {"changed": {"fields": []}}
    ]
    model_admin.log_change(request, decision, message)


def consequences(decision: Decision) -> list[dict[str, str]]:
    """What the outcome did to the subject, with links, as the engine left it."""
    out = []
    if decision.agenda_item_id:
        item = AgendaItem.objects.select_related("removed_by").get(pk=decision.agenda_item_id)
        url = reverse("admin:meetings_agendaitem_change", args=[item.pk])
        if item.removed_by_id == decision.pk:
            out.append(
                {
                    "text": f"The agenda item “{item}” is marked removed by this decision.",
                    "url": url,
                }
            )
        elif item.removed_by_id:
            out.append(
                {
                    "text": f"The agenda item “{item}” is marked removed by another "
                    f"decision, “{item.removed_by}”.",
                    "url": url,
                }
            )
        else:
            out.append({"text": f"The agenda item “{item}” stays on the agenda.", "url": url})
    if decision.proposal_id:
        proposal = Proposal.objects.get(pk=decision.proposal_id)
        out.append(
            {
                "text": f"The proposal “{proposal}” is now: "
                f"{proposal.get_status_display().lower()}.",
                "url": reverse("admin:proposals_proposal_change", args=[proposal.pk]),
            }
        )
    if decision.subject_kind == Decision.SubjectKind.COMMUNIQUE and decision.meeting_id:
        meeting = decision.meeting
        state = {True: "adopted", False: "not adopted", None: "not known"}[
            meeting.communique_adopted
        ]
        out.append(
            {
                "text": f"The communique of {meeting} is recorded as {state}.",
                "url": reverse("admin:meetings_meeting_change", args=[meeting.pk]),
            }
        )
    return out


def _render_page(model_admin, request, page, decision_form, formset, can_change, **extra):
    decision = page.decision
    saved = bool(decision.pk) and request.method != "POST"
    rows = list(zip(formset.forms, [form.holder_info for form in formset.forms], strict=True))
    context = {
        "decision": decision,
        "meeting": page.meeting,
        "decision_form": decision_form,
        "formset": formset,
        "participant_rows": [(f, h) for f, h in rows if h and not h.observer],
        "observer_rows": [(f, h) for f, h in rows if h and h.observer],
        "electorate": page.electorate,
        "effective_date": page.effective_date(),
        "positions_seen": page.seen_token(),
        "can_change": can_change,
        "explanation": decision.explanation if saved else None,
        "consequences": consequences(decision) if saved else [],
        "media": model_admin.media + decision_form.media,
        **extra,
    }
    return _render(model_admin, request, context)


def _render(model_admin, request, context) -> TemplateResponse:
    opts = Decision._meta
    decision = context.get("decision")
    title = (
        f"Record the decision: {decision}"
        if decision is not None and decision.pk
        else "Record a decision"
    )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": title,
        "media": context.get("media") or model_admin.media,
        **context,
    }
    if "choice_form" in context:
        context["media"] = model_admin.media + context["choice_form"].media
    return TemplateResponse(request, DecisionPage.template, context)
