"""Who read what (issue 17, "Who read what"): the access log of restricted incidents' pages and
details, evidence downloads and dossier exports. Append-only like the event log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from incidents.models.incident import Incident


class AccessKind(models.TextChoices):
    """What was read. A new kind (issue 18: the affected-people register) is one more member
    here; the column holds any of them without a migration of its rows."""

    INCIDENT_OPENED = "incident.opened", _("Restricted incident opened")
    EVIDENCE_DOWNLOADED = "evidence.downloaded", _("Evidence downloaded")
    DOSSIER_EXPORTED = "dossier.exported", _("Dossier exported")
    REGISTER_READ = "register.read", _("Affected-people register read")
    # A regulator report, complaint letter or brief downloaded (incidents/legal/documents.py).
    DOCUMENT_EXPORTED = "document.exported", _("Document downloaded")
    # A visitor of the public notice page proved an address with a one-time code, and was told
    # that the register holds them (incidents/affected/checks.py): no user, no client address.
    REGISTER_CHECKED = "register.checked", _("Affected-people register checked by the person")


class AccessRecordQuerySet(models.QuerySet):
    """Append-only: bulk edits and deletes are refused here, in the admin and (PostgreSQL) by
    a trigger of migration incidents/0005."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("access records are append-only")

    def delete(self) -> Any:
        raise PermissionError("access records are append-only")


class AccessRecord(models.Model):
    """One read: who, what (incident, kind, object), when, from where."""

    incident = models.ForeignKey(
        Incident,
        on_delete=models.PROTECT,
        related_name="access_records",
        verbose_name=_("incident"),
    )
    kind = models.CharField(_("kind"), max_length=40, choices=AccessKind.choices)
    # What inside the incident was read: "evidence:12", "dossier.pdf", "page", "api".
    target = models.CharField(_("object"), max_length=80, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        verbose_name=_("user"),
    )
    username = models.CharField(_("username"), max_length=150)
    at = models.DateTimeField(_("time"), db_index=True)
    address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)

    objects = AccessRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("access record")
        verbose_name_plural = _("access records")
        ordering = ["-id"]
        indexes = [models.Index(fields=["incident", "id"]), models.Index(fields=["user", "id"])]

    def __str__(self) -> str:
        return f"{self.username} {self.kind} {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("access records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("access records are append-only")
