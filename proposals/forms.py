"""Filters of the public pages, read from GET parameters and validated like any other input:
an invalid value is reported on the form and ignored, never a server error."""

from django import forms

from proposals.consensus import rules
from proposals.models import Decision, Proposal


class FilterForm(forms.Form):
    def filters(self) -> dict:
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}


class LetterFilterForm(FilterForm):
    q = forms.CharField(
        label="Words in the subject or summary",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    author = forms.ChoiceField(label="Author", required=False)
    year = forms.TypedChoiceField(label="Year", required=False, coerce=int, empty_value=None)
    proposal = forms.ChoiceField(label="Proposal", required=False)

    def __init__(self, *args, choices: dict, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        authors = [(code, name) for code, name in choices["authors"]]
        authors += [(code, f"{name} (observer)") for code, name in choices["observers"]]
        self.fields["author"].choices = [("", "Any author"), *authors]
        self.fields["year"].choices = [("", "Any year")] + [(y, str(y)) for y in choices["years"]]
        self.fields["proposal"].choices = [("", "Any proposal"), *choices["proposals"]]

    def clean_q(self) -> str:
        return " ".join(self.cleaned_data["q"].split())


class ProposalFilterForm(FilterForm):
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "All kinds"), *Proposal.Kind.choices]
    )
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Proposal.Status.choices]
    )


class DecisionFilterForm(FilterForm):
    outcome = forms.ChoiceField(
        label="Outcome under the KP rule",
        required=False,
        choices=[("", "Any outcome"), *Decision.Outcome.choices],
    )
    differs_under = forms.ChoiceField(
        label="Decided differently under",
        required=False,
        choices=[("", "—")]
        + [
            (name, rule.title) for name, rule in rules.RULES.items() if name != rules.RULE_OF_RECORD
        ],
    )
    counting = forms.ChoiceField(
        label="Counting silence",
        required=False,
        choices=[
            (rules.SILENCE_AS_CONSENT, "Silence counts as consent"),
            (rules.RECORDED, "Only recorded positions count"),
        ],
    )


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Search the record",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
