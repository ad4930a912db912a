"""Page forms of the post-incident review (incidents/workspace/review.py) and its follow-ups
(incidents/workspace/follow_ups.py): the same fields and limits as the API, from the models'
columns. They type-check only; the domain's refusals come back on the page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from frontend.forms import Form, MomentField, column_text
from incidents.models import FollowUp, Review


class ReviewForm(Form):
    """The whole review against the version shown (0 before the first save)."""

    id_prefix = "review"

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    root_cause = column_text(Review, "root_cause", _("Root cause"), rows=4)
    went_well = column_text(Review, "went_well", _("What went well"), rows=4)
    went_badly = column_text(Review, "went_badly", _("What did not go well"), rows=4)
    finished = forms.BooleanField(
        label=_("The review is finished (it needs the root cause)"), required=False
    )

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class FollowUpForm(Form):
    """A new follow-up, or one's changes (with ``prefix`` per follow-up)."""

    id_prefix = "follow_up"

    title = column_text(FollowUp, "title", _("Action"), required=True)
    owner = forms.CharField(
        label=_("Owner (user name)"), max_length=150, required=False, widget=forms.TextInput
    )
    due_at = MomentField(label=_("Due"), required=False)
    note = column_text(FollowUp, "note", _("Note"), rows=2)

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class FollowUpEditForm(FollowUpForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, follow_up: FollowUp, **kwargs: Any) -> None:
        initial = {
            "version": follow_up.version,
            "title": follow_up.title,
            "owner": follow_up.owner.get_username() if follow_up.owner else "",
            "due_at": follow_up.due_at,
            "note": follow_up.note,
        }
        self.id_prefix = f"follow_up_{follow_up.pk}"
        super().__init__(*args, initial=initial, prefix=f"follow-up-{follow_up.pk}", **kwargs)


class FollowUpDoneForm(forms.Form):
    """The done / not done button: the version seen and the state wanted."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    done = forms.BooleanField(required=False, widget=forms.HiddenInput)
