"""Page forms of the people affected: the register's import and one person, a notice
campaign's draft. They parse and type-check only; the domain (incidents/affected/) checks and
normalises people and texts, and its refusals come back on these forms' fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from frontend.forms import Form
from incidents.affected.contacts import CUSTOMER_ID_MAX, EMAIL_MAX, MOBILE_RAW_MAX, NAME_MAX
from incidents.affected.letters import BODY_MAX, LANGUAGES, SMS_MAX, SUBJECT_MAX
from incidents.models import NoticeLanguage


class PeopleImportForm(Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8; the first line names the columns: customer_id, name, email, mobile, language "
            "(fa or en). If any line is wrong, nothing is imported."
        ),
    )
    dry_run = forms.BooleanField(
        label=_("Only check the file (dry run): import nobody"), required=False
    )


class PersonForm(Form):
    """One person as legal types them; the domain checks and normalises each field
    (incidents/affected/contacts.py), so only the lengths are limited here."""

    customer_id = forms.CharField(label=_("Customer id"), max_length=CUSTOMER_ID_MAX)
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX, required=False)
    email = forms.CharField(label=_("Email"), max_length=EMAIL_MAX, required=False)
    mobile = forms.CharField(
        label=_("Mobile"),
        max_length=MOBILE_RAW_MAX,
        required=False,
        help_text=_("An Iranian mobile in any usual form: 0912..., +98 912..., Persian digits."),
    )
    language = forms.ChoiceField(label=_("Language of the notice"), choices=NoticeLanguage.choices)

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


TEMPLATES, TEXTS = "templates", "texts"
# Each text of a campaign, per language, as a page field ("subject_fa") and as the domain names
# it in a refusal ("subject.fa").
TEXT_FIELDS = {
    "subject": (SUBJECT_MAX, 0, _("Subject")),
    "body": (BODY_MAX, 10, _("Letter")),
    "sms": (SMS_MAX, 3, _("SMS (optional: the template's when empty)")),
}


class CampaignDraftForm(Form):
    """A draft from the templates (the letter, the SMS and the advice of each leaked data
    category), or with legal's own subject and letter in each language."""

    source = forms.ChoiceField(
        label=_("Texts"),
        choices=[
            (TEMPLATES, _("The templates, with advice for the leaked data categories")),
            (TEXTS, _("Our own subject and letter (below), with the same advice")),
        ],
        initial=TEMPLATES,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language_names = dict(NoticeLanguage.choices)
        for part, (limit, rows, label) in TEXT_FIELDS.items():
            for language in LANGUAGES:
                widget = forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput()
                widget.attrs["dir"] = "rtl" if language == "fa" else "ltr"
                widget.attrs["lang"] = language
                self.fields[f"{part}_{language}"] = forms.CharField(
                    label=f"{label} ({language_names[language]})",
                    max_length=limit,
                    required=False,
                    strip=False,
                    widget=widget,
                )

    def texts(self) -> dict[str, Any] | None:
        """None for the templates; else the texts as the domain takes them (the SMS only when
        some of it was given)."""
        if self.cleaned_data["source"] == TEMPLATES:
            return None
        texts = {
            part: {lang: self.cleaned_data[f"{part}_{lang}"] for lang in LANGUAGES}
            for part in TEXT_FIELDS
        }
        if not any(v.strip() for v in texts["sms"].values()):
            del texts["sms"]
        return texts

    @staticmethod
    def field_of(name: str) -> str | None:
        """The page field of a text the domain names ("body.fa" -> "body_fa")."""
        part, _dot, language = name.partition(".")
        return f"{part}_{language}" if part in TEXT_FIELDS and language in LANGUAGES else None
