"""The people a breach affected (issue 18): one row per person per incident. Their contact data
is sealed (core/pii.py) and found again by keyed hashes; nothing here is readable without
PII_ENCRYPTION_KEY. Written and read only through incidents/affected/register.py, which logs
every read of the register."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from incidents.models.incident import Incident


class NoticeLanguage(models.TextChoices):
    FA = "fa", _("Persian")
    EN = "en", _("English")


class AffectedPersonQuerySet(models.QuerySet):
    def present(self) -> AffectedPersonQuerySet:
        """People whose contact data is still held (not purged)."""
        return self.filter(purged_at__isnull=True)


class AffectedPerson(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="affected_people")
    # {"customer_id", "name", "email", "mobile"} sealed as one token; "" once purged.
    sealed = models.TextField(editable=False)
    # Keyed hashes of the normalised customer id, email and mobile ("" when absent or purged).
    customer_hash = models.CharField(max_length=64, editable=False)
    email_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    mobile_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    # What the sender may know without unsealing: which channels the person can be reached on.
    has_email = models.BooleanField(default=False, editable=False)
    has_mobile = models.BooleanField(default=False, editable=False)
    language = models.CharField(
        _("language"), max_length=2, choices=NoticeLanguage.choices, default=NoticeLanguage.FA
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)
    # The retention period ended: contact data and hashes deleted, the row kept for the counts.
    purged_at = models.DateTimeField(_("purged at"), null=True, blank=True)

    objects = AffectedPersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("affected person")
        verbose_name_plural = _("affected people")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "customer_hash"],
                condition=~models.Q(customer_hash=""),
                name="affected_person_once_per_incident",
            )
        ]

    def __str__(self) -> str:
        # Never the contact data: this string reaches logs and the admin's history.
        return f"affected person {self.pk} of incident {self.incident_id}"
