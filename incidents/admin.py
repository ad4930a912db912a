"""Admin views. The record is changed only through the domain functions, so incidents, referrals
and events are read-only here; people change them through the API or the pages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from incidents.legal.obligations import resync_open_incidents
from incidents.models import (
    AccessRecord,
    AffectedPerson,
    CustodyEntry,
    Document,
    Event,
    Evidence,
    Incident,
    JurisdictionRule,
    LogHead,
    Obligation,
    RecordCheckpoint,
    Referral,
    VerificationRun,
)


class ReferralInline(admin.TabularInline):
    model = Referral
    extra = 0
    can_delete = False
    fields = ("authority", "authority_name", "state", "case_number", "submitted_at")
    readonly_fields = fields

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = (
        "reference",
        "title",
        "severity",
        "state",
        "commander",
        "restricted",
        "detected_at",
    )
    list_filter = ("state", "severity", "attack_vector", "restricted")
    search_fields = ("reference", "title")
    inlines = [ReferralInline]


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ("incident", "authority", "state", "case_number", "submitted_at")
    list_filter = ("state", "authority")


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = (
        "seq",
        "incident",
        "kind",
        "actor_username",
        "from_state",
        "to_state",
        "created_at",
    )
    list_filter = ("kind",)
    search_fields = ("incident__reference", "actor_username")


@admin.register(LogHead)
class LogHeadAdmin(ReadOnlyAdmin):
    list_display = ("seq", "hash")


@admin.register(JurisdictionRule)
class JurisdictionRuleAdmin(admin.ModelAdmin):
    """Admins edit the rules here; new incidents and scope changes use them at once. Existing
    obligations keep the step they were made from (a rule edit is not a retroactive deadline)."""

    list_display = ("code", "title", "enabled", "is_policy", "requires_high_risk", "min_subjects")
    list_filter = ("enabled", "is_policy")
    actions = ["apply_to_open_incidents"]

    @admin.action(description="Apply the enabled rules to every open incident now")
    def apply_to_open_incidents(self, request: Any, queryset: Any) -> None:
        changed = resync_open_incidents(actor=request.user)
        self.message_user(request, f"Obligations updated on {changed} open incident(s).")

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        # Obligations point at their rule; disabling keeps the history readable.
        return False


@admin.register(Obligation)
class ObligationAdmin(ReadOnlyAdmin):
    list_display = ("incident", "rule", "step_name", "due_at", "state", "decided_by")
    list_filter = ("state", "rule")


class CustodyInline(admin.TabularInline):
    model = CustodyEntry
    extra = 0
    can_delete = False
    fields = ("at", "action", "actor_username", "role", "note", "referral")
    readonly_fields = fields

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ("incident", "original_name", "size", "sha256", "uploaded_at")
    inlines = [CustodyInline]


@admin.register(VerificationRun)
class VerificationRunAdmin(ReadOnlyAdmin):
    list_display = ("finished_at", "ok", "checked", "last_seq", "broken_seq", "source")


@admin.register(AccessRecord)
class AccessRecordAdmin(ReadOnlyAdmin):
    """Who read what (need to know): admins read and filter it; nobody edits or deletes it."""

    list_display = ("at", "username", "kind", "incident", "target", "address")
    list_filter = ("kind", "at", "incident__restricted")
    search_fields = ("incident__reference", "username", "address")
    date_hierarchy = "at"
    list_select_related = ("incident",)


@admin.register(AffectedPerson)
class AffectedPersonAdmin(ReadOnlyAdmin):
    """Who is in which register, without anyone's details: no name, address, number or customer
    id, sealed or hashed, so this view needs no access record. The register itself is read
    through the API, where every read is logged (incidents/api/register.py)."""

    fields = (
        "incident",
        "language",
        "has_email",
        "has_mobile",
        "added_by",
        "added_at",
        "purged_at",
    )
    readonly_fields = fields
    list_display = ("id", *fields)
    list_filter = ("language", "has_email", "has_mobile", ("purged_at", admin.EmptyFieldListFilter))
    search_fields = ("incident__reference",)
    list_select_related = ("incident", "added_by")


# The notices' templates, campaigns and outbox rows (issue 18).
from incidents import admin_notices  # noqa: E402, F401


@admin.register(RecordCheckpoint)
class RecordCheckpointAdmin(ReadOnlyAdmin):
    """The record's signed checkpoints (incidents/legal/record_signing.py): made by the record,
    never by hand; ``verify_record`` checks them."""

    list_display = ("id", "seq", "prev_seq", "why", "incident_reference", "created_at", "tsa_time")
    list_filter = ("why",)
    search_fields = ("incident_reference",)
    exclude = ("tsa_token",)


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    """Documents for the authorities (incidents/legal/documents.py): drafted, edited and
    issued through the API and the incident page; an issued one is frozen."""

    list_display = ("id", "incident", "kind", "language", "edition", "state", "issued_at", "sha256")
    list_filter = ("kind", "language")
    search_fields = ("incident__reference",)
    list_select_related = ("incident",)
    exclude = ("pdf",)


# The workspace (issue 20): the post-incident review and its follow-ups; runbook steps
# (editable) and tasks (read-only); status updates and their cadence per severity. Monitoring's
# integrations and the alerts they sent (issue 22 section 3).
from incidents import (  # noqa: E402
    admin_integrations,  # noqa: F401
    admin_review,  # noqa: F401
    admin_tasks,  # noqa: F401
    admin_updates,  # noqa: F401
)
