"""Page forms. They only parse and type-check; the domain functions do every change."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Any

import jdatetime
from django import forms
from django.utils import timezone
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _

from core.formats import ascii_digits, is_persian, moment
from incidents.affected.decision import MEASURES_MAX_LENGTH
from incidents.choices import (
    MAX_SUBJECTS,
    MAX_SYSTEMS,
    NOTE_MAX_LENGTH,
    SYSTEM_NAME_MAX_LENGTH,
    AttackVector,
    Authority,
    DataCategory,
    Hosting,
    Severity,
)
from incidents.labels import FIELD_LABELS
from incidents.lifecycle import commander_candidates
from incidents.machines import CHOICE, EVIDENCE, MOMENT, TEXT, Key, Machine
from incidents.models import (
    Consequence,
    Evidence,
    Exemption,
    Incident,
    NotificationDecision,
    Outcome,
    Referral,
)

# A text longer than this is typed in a box of several lines.
ONE_LINE_MAX = 300


class Form(forms.Form):
    """A page form. Its text boxes take their direction from what is typed (dir="auto"): a
    Latin title on a Persian page, or a Persian note on an English one, reads the right way
    round while it is typed, as it does once shown."""

    # Several forms share the incident page: one whose field names another form also has
    # (file, language, authority) sets a prefix for its element ids, so each label points at
    # its own field.
    id_prefix = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.id_prefix:
            kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.TextInput | forms.Textarea):
                field.widget.attrs.setdefault("dir", "auto")


def column_text(
    model: type, name: str, label: Any, *, rows: int = 0, required: bool = False
) -> forms.CharField:
    """A text field as long as ``model.name``'s column allows (the limit the API has too), in
    a box of ``rows`` lines when given."""
    widget = forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput
    limit = model._meta.get_field(name).max_length
    return forms.CharField(label=label, max_length=limit, required=required, widget=widget)


class CountField(forms.IntegerField):
    """A count typed on any keyboard: a browser's number input drops Persian digits and sends
    an empty value (which cleared the field), so this is a text input that reads them, with
    thousands separators."""

    widget = forms.TextInput(attrs={"inputmode": "numeric"})

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str):
            value = re.sub(r"[\s,٬،_]", "", ascii_digits(value))
        return super().to_python(value)


class VersionedForm(Form):
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
            return moment(value)  # as the page shows moments, so it reads back the same
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


class IncidentFields(Form):
    title = column_text(Incident, "title", _("Title"), required=True)
    # No default: "low" preselected made every breach low until someone noticed.
    severity = forms.ChoiceField(label=_("Severity"), choices=[("", "—"), *Severity.choices])
    summary = column_text(Incident, "summary", _("Summary"), rows=3)


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
            if len(name) > SYSTEM_NAME_MAX_LENGTH:
                raise forms.ValidationError(
                    _("A system name is at most %(max)d characters."),
                    params={"max": SYSTEM_NAME_MAX_LENGTH},
                )
            systems.append({"name": name, "hosting": hosting})
        if len(systems) > MAX_SYSTEMS:
            raise forms.ValidationError(_("At most %(max)d systems."), params={"max": MAX_SYSTEMS})
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
    source_details = column_text(Incident, "source_details", _("Source details"), rows=2)
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

    def clean_data_categories(self) -> list[str]:
        return sorted(set(self.cleaned_data["data_categories"]))


class RestorationForm(VersionedForm):
    restoration_summary = column_text(
        Incident, "restoration_summary", _("Restoration summary"), rows=3
    )


def _field(key: Key) -> forms.Field:
    label = capfirst(FIELD_LABELS.get(key.name, key.name.replace("_", " ")))
    if key.kind == TEXT:
        long = key.max_length is None or key.max_length > ONE_LINE_MAX
        widget = forms.Textarea(attrs={"rows": 2}) if long else forms.TextInput
        return forms.CharField(
            label=label, required=False, max_length=key.max_length, widget=widget
        )
    if key.kind == CHOICE:
        return forms.ChoiceField(
            label=label, required=False, choices=[("", "—"), *key.choices.choices]
        )
    if key.kind == MOMENT:
        return MomentField(label=label, required=False)
    if key.kind == EVIDENCE:
        return forms.ModelChoiceField(label=label, queryset=Evidence.objects.none(), required=False)
    raise ValueError(f"no form field for a {key.kind!r} key")


class TransitionForm(VersionedForm):
    """A transition's payload as a page sends it; ``transition_form`` builds one per machine
    from its spec, so a page accepts what the API accepts, with the same limits."""

    machine: Machine

    def __init__(self, *args: Any, evidence: Any = None, **kwargs: Any) -> None:
        """``evidence``: the incident's files, the only ones a deadline may cite as proof."""
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField) and evidence is not None:
                field.queryset = evidence

    def payload(self, name: str) -> dict[str, Any]:
        """What the person gave for ``name`` (empty values count as not given)."""
        step = self.machine.step(name)
        return {k: self.cleaned_data.get(k) for k in step.accepts if k in self.fields}

    def run(self, target: Any, name: str, actor: Any) -> Any:
        """Run ``name`` with what the person gave, against the version they saw (the runner
        raises the domain's refusals)."""
        return self.machine.run(
            target,
            name,
            actor=actor,
            payload=self.payload(name),
            expected_version=self.cleaned_data["version"],
        )


@cache
def transition_form(machine: Machine) -> type[TransitionForm]:
    """The page form of ``machine``'s transitions: every key but the API-only remark."""
    fields = {key.name: _field(key) for key in machine.keys if not key.remark}
    name = f"{machine.model.__name__}TransitionForm"
    return type(name, (TransitionForm,), {"machine": machine, **fields, "__module__": __name__})


class NoteForm(Form):
    text = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=NOTE_MAX_LENGTH,
        help_text=_(
            "What you found or did. A note cannot be changed later; correct it with another."
        ),
    )


class ReferralForm(Form):
    authority = forms.ChoiceField(label=_("Authority"), choices=Authority.choices)
    authority_name = column_text(Referral, "authority_name", _("Authority name"))
    case_number = column_text(Referral, "case_number", _("Case number"))
    contact = column_text(Referral, "contact", _("Contact"))
    notes = column_text(Referral, "notes", _("Notes"), rows=2)


class EvidenceForm(Form):
    id_prefix = "evidence"
    file = forms.FileField(label=_("File"))
    description = column_text(Evidence, "description", _("Description"))


class RestrictionForm(Form):
    """Who reads the incident (need to know): the domain resolves the names and checks who may
    change it (incidents/need_to_know.py)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    restricted = forms.BooleanField(
        label=_("Restricted: only its members, its commander and admins read it"), required=False
    )
    members = forms.CharField(
        label=_("Members"),
        required=False,
        max_length=4000,
        help_text=_("Usernames, separated by spaces or commas."),
    )

    def clean_members(self) -> list[str]:
        return [n for n in re.split(r"[\s,،]+", self.cleaned_data["members"]) if n]


class DecisionForm(Form):
    """Legal's decision on telling the people affected, with the parts of the assessment a
    page can give (incidents/affected/decision.py; per-category sensitivity: the API)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    outcome = forms.ChoiceField(
        label=_("Decision"), choices=Outcome.choices, widget=forms.RadioSelect
    )
    exemption = forms.ChoiceField(
        label=_("Why a notice is not required"),
        choices=[("", "—"), *Exemption.choices],
        required=False,
    )
    reason = column_text(NotificationDecision, "reason", _("Reason"), rows=3)
    unintelligible = forms.MultipleChoiceField(
        label=_("Leaked only encrypted or otherwise unintelligible"),
        choices=DataCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    consequences = forms.MultipleChoiceField(
        label=_("Likely consequences for the people affected"),
        choices=Consequence.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    measures = forms.CharField(
        label=_("Measures taken or proposed to limit the harm"),
        max_length=MEASURES_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, categories: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.categories = list(categories)
        field = self.fields["unintelligible"]
        field.choices = [(c, label) for c, label in DataCategory.choices if c in self.categories]

    def assessment(self) -> dict[str, Any]:
        hidden = set(self.cleaned_data["unintelligible"])
        return {
            "categories": [{"category": c, "unintelligible": c in hidden} for c in self.categories],
            "consequences": self.cleaned_data["consequences"],
            "measures": self.cleaned_data["measures"],
        }
