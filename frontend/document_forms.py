"""Page forms of documents (incidents/legal/documents.py): a new draft, a draft's sections (built
from the domain's spec of each kind, so the page and the API take the same keys and limits),
and issuing it. They type-check only; the domain's refusals come back on the page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from frontend.forms import Form
from incidents.legal.document_kinds import ADDRESSEE_CHOICES, sections_of
from incidents.models import Document, DocumentKind, NoticeLanguage

AUTHORITIES = ADDRESSEE_CHOICES


class DocumentCreateForm(Form):
    id_prefix = "document"
    kind = forms.ChoiceField(label=_("Document"), choices=DocumentKind.choices)
    language = forms.ChoiceField(
        label=_("Language"),
        choices=NoticeLanguage.choices,
        help_text=_("The complaint letter is written in Persian only."),
    )
    authority = forms.ChoiceField(
        label=_("Addressee of a complaint letter"),
        choices=[("", _("The latest referral's, else the cyber police")), *AUTHORITIES],
        required=False,
    )

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if v}


class DocumentEditForm(Form):
    """A draft's sections (and a complaint letter's addressee), against the version shown."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, document: Document, **kwargs: Any) -> None:
        initial = {"version": document.version, **document.sections}
        if document.kind == DocumentKind.COMPLAINT_LETTER:
            initial["authority"] = document.authority
        super().__init__(*args, initial=initial, prefix=f"document-{document.pk}", **kwargs)
        for section in sections_of(document.kind):
            self.fields[section.key] = forms.CharField(
                label=section.label,
                max_length=section.max_length,
                required=False,
                strip=False,
                widget=forms.Textarea(attrs={"rows": 6, "dir": "auto"}),
            )
        if document.kind == DocumentKind.COMPLAINT_LETTER:
            self.fields["authority"] = forms.ChoiceField(label=_("Addressee"), choices=AUTHORITIES)
        self.document = document

    def changes(self) -> dict[str, Any]:
        keys = [s.key for s in sections_of(self.document.kind)]
        changes: dict[str, Any] = {"sections": {k: self.cleaned_data[k] for k in keys}}
        if "authority" in self.cleaned_data:
            changes["authority"] = self.cleaned_data["authority"]
        return changes


class DocumentIssueForm(Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    confirm = forms.BooleanField(
        label=_("I have read the draft PDF: issue it as it is. It cannot be edited afterwards."),
    )
    fulfil = forms.BooleanField(
        label=_("It was sent: mark the legal deadline it answers as fulfilled, citing it"),
        required=False,
    )
    note = forms.CharField(label=_("Note on the fulfilment"), max_length=2000, required=False)

    def __init__(self, *args: Any, answers: bool = True, **kwargs: Any) -> None:
        """``answers``: the document answers a legal deadline (else nothing to fulfil)."""
        super().__init__(*args, **kwargs)
        if not answers:
            del self.fields["fulfil"], self.fields["note"]
