"""The kinds of document (incidents/legal/documents.py) as a spec: each kind's sections in the
order they print, with their limits, its languages, a complaint letter's addressees, and the
legal deadline each kind answers. The API's and the pages' forms and the templates read them
from here."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from incidents.choices import Authority
from incidents.models import DocumentKind

GDPR33 = (DocumentKind.GDPR33_NOTIFICATION, DocumentKind.GDPR33_SUPPLEMENT)
SECTION_MAX_LENGTH = 20000


@dataclass(frozen=True)
class Section:
    """One part of a document legal writes (drafted from the record, then edited)."""

    key: str
    label: Promise
    max_length: int = SECTION_MAX_LENGTH


# Each kind's sections, in the order the document prints them; the API, the page's form and
# the templates read them from here.
SECTIONS: dict[str, tuple[Section, ...]] = {
    DocumentKind.GDPR33_NOTIFICATION: (
        Section("nature", gettext_lazy("Nature of the personal data breach")),
        Section("categories", gettext_lazy("Categories and approximate numbers")),
        Section("contact_point", gettext_lazy("Contact point"), 2000),
        Section("consequences", gettext_lazy("Likely consequences")),
        Section("measures", gettext_lazy("Measures taken or proposed")),
        Section("delay", gettext_lazy("Reasons for the delay")),
    ),
    DocumentKind.GDPR33_SUPPLEMENT: (
        Section("summary", gettext_lazy("What changed")),
        Section("measures", gettext_lazy("Measures taken or proposed since")),
        Section("pending", gettext_lazy("Information still to follow")),
    ),
    DocumentKind.COMPLAINT_LETTER: (
        Section("addressee", gettext_lazy("Addressee"), 1000),
        Section("subject", gettext_lazy("Subject"), 1000),
        Section("complainant", gettext_lazy("Complainant"), 2000),
        Section("accused", gettext_lazy("Accused"), 2000),
        Section("facts", gettext_lazy("Facts")),
        Section("legal_basis", gettext_lazy("Legal basis")),
        Section("request", gettext_lazy("Request")),
    ),
    DocumentKind.EXECUTIVE_BRIEF: (
        Section("what_happened", gettext_lazy("What happened"), 4000),
        Section("who_is_affected", gettext_lazy("Who is affected"), 4000),
        Section("what_is_done", gettext_lazy("What is done"), 4000),
        Section("next_steps", gettext_lazy("Next steps and decisions needed"), 4000),
    ),
}
# The complaint letter is written to an Iranian authority, in Persian.
LANGUAGES: dict[str, tuple[str, ...]] = {DocumentKind.COMPLAINT_LETTER: ("fa",)}
ADDRESSEES = (Authority.CYBER_POLICE, Authority.CYBERCRIME_PROSECUTOR)
# The legal deadlines (obligation steps) a kind answers: issuing it may fulfil them.
ANSWERS: dict[str, tuple[str, ...]] = {
    DocumentKind.GDPR33_NOTIFICATION: ("notify_authority",),
    DocumentKind.COMPLAINT_LETTER: ("referral_filed",),
}


def sections_of(kind: str) -> tuple[Section, ...]:
    return SECTIONS[kind]


# The addressees as the API and the pages offer them (and the schema names them).
ADDRESSEE_CHOICES = [(a.value, a.label) for a in ADDRESSEES]
