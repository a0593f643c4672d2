"""The meetings index filter: GET parameters checked like any other input."""

from django import forms

from meetings.models import Meeting


class MeetingFilterForm(forms.Form):
    year = forms.TypedChoiceField(label="Year", required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(label="Kind of meeting", required=False)

    def __init__(self, *args, years: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", "All years")] + [(y, str(y)) for y in years]
        self.fields["kind"].choices = [("", "All kinds"), *Meeting.Kind.choices]

    def filters(self) -> dict:
        """The valid filters; an invalid value is reported on the form and otherwise ignored."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}
