"""Page forms. They only parse and type-check; the domain functions do every change."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

import jdatetime
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from frontend.localize import ascii_digits, is_persian, when
from incidents.choices import AttackVector, Authority, DataCategory, Hosting, Severity, State
from incidents.lifecycle import commander_candidates
from incidents.models import Evidence
from incidents.notes import NOTE_MAX_LENGTH

MAX_SUBJECTS = 10**12


class CountField(forms.IntegerField):
    """A count typed on any keyboard: a browser's number input drops Persian digits and sends
    an empty value (which cleared the field), so this is a text input that reads them, with
    thousands separators."""

    widget = forms.TextInput(attrs={"inputmode": "numeric"})

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str):
            value = re.sub(r"[\s,٬،_]", "", ascii_digits(value))
        return super().to_python(value)


class VersionedForm(forms.Form):
    """Carries the version the person saw, so a concurrent edit is refused, not overwritten."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class MomentInput(forms.DateTimeInput):
    """The browser's date-and-time picker in English. In Persian a text box showing the Jalali
    date in Persian digits (۱۴۰۵/۰۹/۰۴ ۰۲:۱۰): the picker knows only Gregorian dates, and a
    Jalali date typed into it was refused."""

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict[str, Any]:
        self.input_type = "text" if is_persian() else "datetime-local"
        context = super().get_context(name, value, attrs)
        if is_persian():
            context["widget"]["attrs"].setdefault("placeholder", "۱۴۰۵/۰۱/۳۱ ۱۴:۳۰")
            context["widget"]["attrs"].setdefault("dir", "ltr")
        return context

    def format_value(self, value: Any) -> Any:
        if not isinstance(value, dt.datetime):
            return value  # what the person typed, shown back as typed
        if is_persian():
            return when(value)  # as the page shows moments, so it reads back the same
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return local.strftime("%Y-%m-%dT%H:%M")


# year/month/day [hour:minute], with / or - ; a year before 1700 is a Jalali year.
TYPED_MOMENT = re.compile(r"\s*(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2}))?\s*")


class MomentField(forms.DateTimeField):
    """A moment a person enters, read in their time zone (the middleware's): Jalali or
    Gregorian, in any digits."""

    widget = MomentInput

    def to_python(self, value: Any) -> dt.datetime | None:
        if isinstance(value, str) and (typed := TYPED_MOMENT.fullmatch(ascii_digits(value))):
            year, month, day, hour, minute = (int(part or 0) for part in typed.groups())
            try:
                if year < 1700:
                    naive = jdatetime.datetime(year, month, day, hour, minute).togregorian()
                else:
                    naive = dt.datetime(year, month, day, hour, minute)
            except ValueError:
                raise forms.ValidationError(
                    self.error_messages["invalid"], code="invalid"
                ) from None
            return timezone.make_aware(naive)
        return super().to_python(value)


AWARE_HELP = _("When the company became aware: the legal deadlines count from here.")


class IncidentFields(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    # No default: "low" preselected made every breach low until someone noticed.
    severity = forms.ChoiceField(label=_("Severity"), choices=[("", "—"), *Severity.choices])
    summary = forms.CharField(
        label=_("Summary"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=20000,
    )


class IncidentCreateForm(IncidentFields):
    """A breach is often logged some time after it was found: both moments may be given."""

    detected_at = MomentField(label=_("Detected at"), required=False, help_text=_("Empty: now."))
    aware_at = MomentField(
        label=_("Became aware at"),
        required=False,
        # format_lazy: "+" would translate at import time, in whatever language was active then.
        help_text=format_lazy("{} {}", AWARE_HELP, _("Empty: the detection time.")),
    )


class SummaryForm(IncidentFields, VersionedForm):
    """The create form's text fields, edited later against the version the person saw."""


class TimingForm(VersionedForm):
    detected_at = MomentField(label=_("Detected at"), required=True)
    aware_at = MomentField(label=_("Became aware at"), required=True, help_text=AWARE_HELP)
    commander = forms.ModelChoiceField(
        label=_("Commander"),
        queryset=commander_candidates(),
        to_field_name="username",
        required=False,
        empty_label="—",
    )


class SystemsField(forms.CharField):
    """One system per line: ``name`` (own servers) or ``name | provider``."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value: Any) -> list[dict[str, str]]:
        systems = []
        for line in (super().to_python(value) or "").splitlines():
            name, _bar, hosting = line.partition("|")
            name, hosting = name.strip(), (hosting.strip().lower() or Hosting.OWN)
            if not name:
                continue
            if hosting not in Hosting.values:
                raise forms.ValidationError(
                    _("Hosting must be “own” or “provider” (after a |): %(line)s"),
                    params={"line": line.strip()},
                )
            if len(name) > 200:
                raise forms.ValidationError(_("A system name is at most 200 characters."))
            systems.append({"name": name, "hosting": hosting})
        if len(systems) > 200:
            raise forms.ValidationError(_("At most 200 systems."))
        return systems

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(
                s["name"] if s.get("hosting") == Hosting.OWN else f"{s['name']} | {s['hosting']}"
                for s in value
            )
        return value


class ScopeForm(VersionedForm):
    attack_vector = forms.ChoiceField(
        label=_("Attack vector (source)"),
        choices=[("", "—"), *AttackVector.choices],
        required=False,
    )
    source_details = forms.CharField(
        label=_("Source details"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    affected_systems = SystemsField(
        label=_("Affected systems"),
        required=False,
        help_text=_("One per line; add “| provider” for a service provider's system."),
    )
    data_categories = forms.MultipleChoiceField(
        label=_("Data categories"),
        choices=DataCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    affected_subjects_estimate = CountField(
        label=_("Affected people (estimate)"), min_value=0, max_value=MAX_SUBJECTS, required=False
    )
    high_risk = forms.BooleanField(label=_("High risk to the people affected"), required=False)

    def clean_data_categories(self) -> list[str]:
        return sorted(set(self.cleaned_data["data_categories"]))


class RestorationForm(VersionedForm):
    restoration_summary = forms.CharField(
        label=_("Restoration summary"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class TransitionForm(VersionedForm):
    """Every payload key a page may send with a transition; the domain checks which apply."""

    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
    restoration_summary = forms.CharField(
        label=_("Restoration summary"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    authority = forms.ChoiceField(
        label=_("Authority"), required=False, choices=[("", "—"), *Authority.choices]
    )
    authority_name = forms.CharField(label=_("Authority name"), required=False, max_length=200)
    submitted_at = MomentField(label=_("Submitted at"), required=False)
    case_number = forms.CharField(label=_("Case number"), required=False, max_length=100)

    PAYLOAD = {
        "mark_restored": ("restoration_summary",),
        "refer": ("authority", "authority_name", "submitted_at", "case_number"),
        "close": ("reason",),
        "dismiss": ("reason",),
        "reopen": ("reason",),
    }

    def payload(self, name: str) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) for k in self.PAYLOAD.get(name, ())}


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=NOTE_MAX_LENGTH,
        help_text=_(
            "What you found or did. A note cannot be changed later; correct it with another."
        ),
    )


class IncidentFilterForm(forms.Form):
    SORTS = {
        "-detected": ("-detected_at",),
        "detected": ("detected_at",),
        "-updated": ("-updated_at",),
        "reference": ("ref_year", "ref_number"),
        "-reference": ("-ref_year", "-ref_number"),
        "state": ("state", "-detected_at"),
    }
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    state = forms.MultipleChoiceField(
        label=_("State"), choices=State.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    severity = forms.MultipleChoiceField(
        label=_("Severity"),
        choices=Severity.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("-detected", _("Newest first")),
            ("detected", _("Oldest first")),
            ("-updated", _("Recently changed")),
            ("-reference", _("Reference (desc)")),
            ("reference", _("Reference (asc)")),
            ("state", _("State")),
        ],
    )


def time_zone_choices() -> list[tuple[str, str]]:
    return [(z, z) for z in sorted(zoneinfo.available_timezones()) if "/" in z or z == "UTC"]


class ProfileForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)


class ReferralForm(forms.Form):
    authority = forms.ChoiceField(label=_("Authority"), choices=Authority.choices)
    authority_name = forms.CharField(label=_("Authority name"), required=False, max_length=200)
    case_number = forms.CharField(label=_("Case number"), required=False, max_length=100)
    contact = forms.CharField(label=_("Contact"), required=False, max_length=300)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("authority") == Authority.OTHER and not data.get("authority_name"):
            self.add_error("authority_name", _("Name the authority when it is “other”."))
        return data


class RecordTransitionForm(VersionedForm):
    """Payload of a referral or obligation transition; which keys apply is in FIELDS."""

    FIELDS = {
        "acknowledge": ("case_number",),
        "conclude": ("outcome",),
        "withdraw": ("reason",),
        "fulfil": ("note", "document"),
        "waive": ("note",),
    }
    note = forms.CharField(label=_("Note"), required=False, max_length=5000)
    document = forms.ModelChoiceField(
        label=_("Proof (evidence)"), queryset=Evidence.objects.none(), required=False
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=5000)
    outcome = forms.CharField(label=_("Outcome"), required=False, max_length=20000)
    case_number = forms.CharField(label=_("Case number"), required=False, max_length=100)

    def __init__(self, *args: Any, evidence: Any, **kwargs: Any) -> None:
        """``evidence``: the incident's files, the only ones a deadline may cite as proof."""
        super().__init__(*args, **kwargs)
        self.fields["document"].queryset = evidence

    def payload(self, name: str) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) for k in self.FIELDS.get(name, ())}


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("File"))
    description = forms.CharField(label=_("Description"), required=False, max_length=5000)
