"""Whether the people affected must be told (issue 18): how sensitive each data category is, and
one incident's assessment and legal's recorded decision. The rules that read them are in
incidents/affected/decision.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from incidents.choices import DataCategory
from incidents.models.incident import Incident


class Sensitivity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


SENSITIVITY_RANK = {Sensitivity.LOW: 0, Sensitivity.MEDIUM: 1, Sensitivity.HIGH: 2}

# Seeded by migration incidents/0006 (an admin's edits stay: a migration runs once).
DEFAULT_SENSITIVITY = {
    DataCategory.BANK_ACCOUNT: Sensitivity.HIGH,
    DataCategory.PAYMENT_CARD: Sensitivity.HIGH,
    DataCategory.CREDENTIALS: Sensitivity.HIGH,
    DataCategory.LEGAL_ENTITY_IDS: Sensitivity.MEDIUM,
    DataCategory.IDENTITY: Sensitivity.MEDIUM,
    DataCategory.CONTACT: Sensitivity.MEDIUM,
    DataCategory.POSTAL_ADDRESS: Sensitivity.MEDIUM,
    DataCategory.TECHNICAL: Sensitivity.LOW,
    DataCategory.USAGE: Sensitivity.LOW,
    DataCategory.COOKIES: Sensitivity.LOW,
}


class Consequence(models.TextChoices):
    """What the leak is likely to lead to for the people it is about."""

    PHISHING = "phishing", _("Phishing messages pretending to be the company")
    FRAUD = "fraud", _("Fraud")
    IDENTITY_THEFT = "identity_theft", _("Identity theft")
    FINANCIAL_LOSS = "financial_loss", _("Financial loss")
    ACCOUNT_TAKEOVER = "account_takeover", _("Account takeover")
    LOSS_OF_CONFIDENTIALITY = "loss_of_confidentiality", _("Loss of confidentiality")
    OTHER = "other", _("Other")


class Outcome(models.TextChoices):
    NOTIFY = "notify", _("Notify the people affected")
    NOT_REQUIRED = "not_required", _("Notice not required")
    UNDECIDED = "undecided", _("Undecided")


class Exemption(models.TextChoices):
    """Why a notice is not required: the breach is unlikely to put people at high risk, or one
    of GDPR art. 34(3)'s three grounds (the last one means a public notice instead)."""

    LOW_RISK = "low_risk", _("Not likely to result in a high risk to the people affected")
    UNINTELLIGIBLE = "unintelligible", _("The data was encrypted or otherwise unintelligible")
    RISK_REMOVED = "risk_removed", _("Measures taken since remove the high risk")
    DISPROPORTIONATE_EFFORT = (
        "disproportionate_effort",
        _("Telling each person would take disproportionate effort: a public notice instead"),
    )


class CategorySensitivity(models.Model):
    """How sensitive one data category is (admin-editable; seeded from DEFAULT_SENSITIVITY)."""

    category = models.CharField(
        _("data category"), max_length=32, choices=DataCategory.choices, unique=True
    )
    sensitivity = models.CharField(_("sensitivity"), max_length=8, choices=Sensitivity.choices)

    class Meta:
        verbose_name = _("data category sensitivity")
        verbose_name_plural = _("data category sensitivities")
        ordering = ["category"]

    def __str__(self) -> str:
        return f"{self.category}: {self.sensitivity}"


class NotificationDecision(models.Model):
    """One incident's assessment of the risk to the people affected and legal's decision on
    telling them. ``assessment`` is {"categories": [{"category", "sensitivity",
    "unintelligible"}], "consequences": [...], "subjects": int | None, "measures": str}; the
    proposal is computed from it when it is saved. Changed only through
    incidents/affected/decision.py, each change an event."""

    incident = models.OneToOneField(
        Incident, on_delete=models.PROTECT, related_name="notification_decision"
    )
    assessment = models.JSONField(default=dict)
    risk = models.CharField(_("risk"), max_length=8, choices=Sensitivity.choices, blank=True)
    proposed = models.CharField(
        _("proposed outcome"), max_length=16, choices=Outcome.choices, default=Outcome.UNDECIDED
    )
    proposed_exemption = models.CharField(max_length=32, choices=Exemption.choices, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.UNDECIDED
    )
    exemption = models.CharField(
        _("exemption"), max_length=32, choices=Exemption.choices, blank=True
    )
    reason = models.TextField(_("reason"), blank=True, max_length=5000)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # A scope change raised the risk after the decision: legal must decide again.
    stale = models.BooleanField(_("stale"), default=False)
    stale_since = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification decision")
        verbose_name_plural = _("notification decisions")

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.outcome}"
