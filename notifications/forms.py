from django import forms

from meetings.models import Meeting
from notifications.models import Subscription, Target
from participants.models import Participant
from proposals.models import Proposal


class SubscribeForm(forms.Form):
    """What to follow and how often; an address too when nobody is signed in.

    The followed row is named by its public identifier (meeting and proposal slug, participant
    ISO code), as in the pages' links: /notifications/subscribe/?meeting=2022-intersessional-kasane
    """

    target = forms.ChoiceField(choices=Target.choices, widget=forms.HiddenInput)
    meeting = forms.SlugField(required=False, widget=forms.HiddenInput)
    participant = forms.CharField(required=False, max_length=2, widget=forms.HiddenInput)
    proposal = forms.SlugField(required=False, widget=forms.HiddenInput)
    cadence = forms.ChoiceField(
        choices=Subscription.Cadence.choices,
        initial=Subscription.Cadence.IMMEDIATE,
        widget=forms.RadioSelect,
        label="How often",
    )
    email = forms.EmailField(label="Your e-mail address", required=False)

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user if user is not None and user.is_authenticated else None
        if self.user is not None:
            del self.fields["email"]
        else:
            self.fields["email"].required = True

    def clean(self) -> dict:
        data = super().clean()
        target = data.get("target")
        lookups = {
            Target.MEETING: ("meeting", Meeting, "slug"),
            Target.PARTICIPANT: ("participant", Participant, "code"),
            Target.PROPOSAL: ("proposal", Proposal, "slug"),
        }
        self.followed = {}
        if target in lookups:
            field, model, key = lookups[target]
            value = (data.get(field) or "").strip()
            if field == "participant":
                value = value.upper()
            row = model.objects.filter(**{key: value}).first() if value else None
            if row is None:
                raise forms.ValidationError(f"There is no such {field} on record.")
            self.followed = {field: row}
        if self.user is not None and not self.user.email:
            raise forms.ValidationError(
                "Your account has no e-mail address; ask the Secretariat to add one."
            )
        return data
