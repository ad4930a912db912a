"""Documents legal hands to a regulator, the police or the board (issue 19, section 2): a GDPR
art. 33 notification and its art. 33(4) supplements, a Persian complaint letter, an executive
brief. Drafted from the record and edited by legal, then issued: the issued PDF's bytes are kept
here and their SHA-256 goes into the record. Nothing issued is edited; a new edition supersedes
it. Changed only through incidents/legal/documents.py, each change an event."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.roles import LEGAL_TEAM
from incidents.choices import Authority
from incidents.models.incident import Incident
from incidents.models.legal import Obligation
from incidents.models.register import NoticeLanguage


class DocumentKind(models.TextChoices):
    GDPR33_NOTIFICATION = "gdpr33_notification", _("GDPR art. 33 notification")
    GDPR33_SUPPLEMENT = "gdpr33_supplement", _("GDPR art. 33(4) supplement")
    COMPLAINT_LETTER = "complaint_letter", _("Complaint letter to the authorities")
    EXECUTIVE_BRIEF = "executive_brief", _("Executive brief")


# What a document's row says about it wherever it is listed (the API, events, the pages).
DOCUMENT_RECORD = (
    "id",
    "kind",
    "language",
    "edition",
    "state",
    "authority",
    "drafted_at",
    "issued_at",
    "sha256",
    "size",
)


class DocumentQuerySet(models.QuerySet):
    def without_pdf(self) -> DocumentQuerySet:
        """Lists never carry the issued bytes."""
        return self.defer("pdf")

    def issued(self) -> DocumentQuerySet:
        """Issued at some time: the current ones and those a later edition superseded."""
        return self.filter(issued_at__isnull=False)


class Document(FSMModelMixin, models.Model):
    DRAFT, ISSUED, SUPERSEDED = "draft", "issued", "superseded"
    STATES = [(DRAFT, _("Draft")), (ISSUED, _("Issued")), (SUPERSEDED, _("Superseded"))]

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=32, choices=DocumentKind.choices)
    language = models.CharField(_("language"), max_length=2, choices=NoticeLanguage.choices)
    # The document's own version: 1, 2, ... per incident, kind and language. (``version`` below
    # is the row's, for If-Match, as on every record.)
    edition = models.PositiveIntegerField(_("edition"))
    state = FSMField(default=DRAFT, choices=STATES, protected=True)
    # The complaint letter's addressee (cyber police or the computer-crimes prosecutor).
    authority = models.CharField(
        _("authority"), max_length=32, choices=Authority.choices, blank=True
    )
    # {section key: text}: what legal writes (incidents/legal/documents.py lists each kind's).
    sections = models.JSONField(_("sections"), default=dict)
    # The record as the issued PDF showed it (JSON-safe; empty while a draft, which reads the
    # record live): what a later supplement is compared against.
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    # A supplement: what changed since the last GDPR-33 document issued ([{key, from, to}]),
    # frozen at issue.
    changes = models.JSONField(_("changes"), default=list, blank=True)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("supersedes"),
    )
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    drafted_at = models.DateTimeField(_("drafted at"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    # The issued PDF itself, in the database: it commits with the event that records its hash,
    # or not at all, and a backup of the database holds both.
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True)
    # The legal deadline its issue fulfilled (citing it as proof), if any.
    obligation = models.ForeignKey(
        Obligation, on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["drafted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "kind", "language", "edition"], name="document_edition_unique"
            ),
            # One draft at a time of each kind and language: legal edits it, or issues it first.
            models.UniqueConstraint(
                fields=["incident", "kind", "language"],
                condition=Q(state="draft"),
                name="document_one_draft",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.language} #{self.edition} ({self.state})"

    # The bodies touch only this row; the PDF, the superseded edition and the event are the
    # domain's (incidents/legal/documents.py).
    @transition(field=state, source=DRAFT, target=ISSUED, permission=LEGAL_TEAM)
    def issue(self, *, by: Any, at: Any) -> None:
        self.issued_by, self.issued_at = by, at

    @transition(field=state, source=ISSUED, target=SUPERSEDED, permission=LEGAL_TEAM)
    def supersede(self) -> None:
        pass
