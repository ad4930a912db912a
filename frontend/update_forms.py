"""The incident page's status-update form (issue 20 section 2): the body, pre-filled from the
template in the reader's language, and when the next update is owed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from frontend.forms import Form, MomentField
from incidents.workspace.updates import BODY_MAX_LENGTH, template_body


class StatusUpdateForm(Form):
    # Prefixed: the page holds other forms with a "body" (documents, notices).
    prefix = "update"

    body = forms.CharField(
        label=_("Update"),
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 9}),
        help_text=_("For stakeholders: no customer's personal data. It is sent to followers."),
    )
    next_update_at = MomentField(
        label=_("Next update by"),
        required=False,
        help_text=_("Empty: the severity's cadence from now."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"body": template_body()})
        super().__init__(*args, **kwargs)
