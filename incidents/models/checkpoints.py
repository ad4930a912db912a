"""Signed checkpoints of the event log (docs/legal.md, "Signing keys"): the log head (seq and
hash) signed with an Ed25519 key kept outside the database, so a rewrite of the whole chain by
someone without the key is named at the first checkpoint it breaks."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CheckpointReason(models.TextChoices):
    EVERY = "every", _("every N events")
    EXPORT = "export", _("dossier export")
    MANUAL = "manual", _("on demand")


class RecordCheckpointQuerySet(models.QuerySet):
    def scheduled(self) -> RecordCheckpointQuerySet:
        """The checkpoints made every RECORD_CHECKPOINT_EVERY events (the ones expected)."""
        return self.filter(why=CheckpointReason.EVERY)

    def unstamped(self) -> RecordCheckpointQuerySet:
        """Checkpoints still waiting for a time-stamping authority's token."""
        return self.filter(tsa_token__isnull=True)


class RecordCheckpoint(models.Model):
    """The log head at one moment, signed. ``signature`` is the hex Ed25519 signature of
    ``incidents.legal.signed_form.signed_bytes`` (every field below but the signature, the
    key's fingerprint and the time-stamp), made with the key named by ``key_fingerprint``.
    ``tsa_token`` is the DER RFC 3161 time-stamp token over the same bytes, when a TSA is
    configured."""

    seq = models.BigIntegerField(db_index=True)
    # The seq of the scheduled checkpoint before this one (0 for the first), inside the signed
    # bytes: deleting a checkpoint breaks the next one's link, so the gap is named.
    prev_seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    why = models.CharField(max_length=10, choices=CheckpointReason.choices)
    # A dossier export's checkpoint also signs which incident was exported and a digest of its
    # events up to ``seq`` (record_signing.events_digest): the offline verifier in the dossier
    # ZIP checks the exported timeline against it.
    incident_reference = models.CharField(max_length=32, blank=True)
    events_digest = models.CharField(max_length=64, blank=True)
    signature = models.CharField(max_length=128, blank=True)
    key_fingerprint = models.CharField(max_length=64, blank=True)
    tsa_token = models.BinaryField(null=True, blank=True)
    tsa_time = models.DateTimeField(null=True, blank=True)

    objects = RecordCheckpointQuerySet.as_manager()

    class Meta:
        ordering = ["seq", "id"]
        verbose_name = _("record checkpoint")
        verbose_name_plural = _("record checkpoints")

    def __str__(self) -> str:
        return f"checkpoint #{self.seq} ({self.why})"
