"""Words people read for the domain's machine names (transitions, requirement fields, events):
the one vocabulary of pages, Telegram and documents."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

TRANSITION_LABELS = {
    "start_scoping": _("Start scoping"),
    "start_restoration": _("Start restoration"),
    "mark_restored": _("Mark restored"),
    "refer": _("Refer to an authority"),
    "close": _("Close"),
    "dismiss": _("Dismiss"),
    "reopen": _("Reopen"),
}
FIELD_LABELS = {
    "title": _("title"),
    "summary": _("summary"),
    "severity": _("severity"),
    "commander": _("commander"),
    "detected_at": _("detection time"),
    "aware_at": _("awareness time"),
    "source_details": _("source details"),
    "high_risk": _("high risk"),
    "attack_vector": _("attack vector"),
    "affected_systems": _("affected systems"),
    "affected_subjects_estimate": _("affected-people estimate"),
    "data_categories": _("data categories"),
    "restoration_summary": _("restoration summary"),
    "reason": _("reason"),
    "outcome": _("outcome"),
    "note": _("note"),
    "obligations": _("every legal deadline fulfilled or marked not required"),
    "authority": _("authority"),
    "submitted_at": _("submission time"),
    "acknowledged_at": _("acknowledgement time"),
    "at": _("time"),
    # Runbook and own tasks marked required (incidents/workspace/tasks.py), listed under Tasks.
    "tasks": _("every required task done (see Tasks)"),
    "assignee": _("assignee"),
    "required": _("required"),
    "done": _("done"),
    # The post-incident review (incidents/workspace/review.py): closing may need it finished.
    "review": _("a finished post-incident review"),
    "root_cause": _("root cause"),
    "went_well": _("what went well"),
    "went_badly": _("what did not go well"),
    "owner": _("owner"),
    "due_at": _("due"),
}
# What happened, as the timeline and the Telegram alert headline both say it. "event" tells
# the translator a past-tense line, not the state of the same English name ("Restored").
EVENT_LABELS = {
    "created": _("New incident"),
    "updated": _("Edited"),
    "start_scoping": _("Scoping started"),
    "start_restoration": _("Restoration started"),
    "mark_restored": pgettext_lazy("event", "Restored"),
    "refer": _("Referred to an authority"),
    "close": pgettext_lazy("event", "Closed"),
    "dismiss": pgettext_lazy("event", "Dismissed"),
    "reopen": _("Reopened"),
    "note": _("Note"),
    "acknowledged": _("Alert acknowledged"),
    "escalated": _("Escalated: nobody acknowledged in time"),
    "referral.created": _("Referral drafted"),
    "referral.updated": _("Referral edited"),
    "referral.submit": _("Referral submitted"),
    "referral.acknowledge": _("Referral acknowledged by the authority"),
    "referral.start_investigation": _("Authority investigating"),
    "referral.conclude": _("Referral concluded"),
    "referral.withdraw": _("Referral withdrawn"),
    "obligation.fulfil": _("Obligation fulfilled"),
    "obligation.waive": _("Obligation marked not required"),
    "obligations.synced": _("Legal deadlines recalculated"),
    "evidence.uploaded": _("Evidence uploaded"),
    "evidence.downloaded": _("Evidence downloaded"),
    "evidence.handed_over": _("Evidence handed over"),
    "evidence.integrity_failed": _("Evidence failed its integrity check"),
    "restriction.on": _("Restricted to its members"),
    "restriction.off": _("Restriction lifted: every role reads it"),
    "members.added": _("Members added"),
    "members.removed": _("Members removed"),
    # The affected-people register (incidents/affected/register.py): counts only, never who.
    "register.imported": _("Affected people imported"),
    "register.added": _("Affected person added"),
    "register.removed": _("Affected person removed from the register"),
    "register.purged": _("Affected people's contact data purged (retention period over)"),
    "notification.decided": _("Decision on telling the people affected"),
    # Notice campaigns (incidents/affected/campaigns.py): ids and counts, never who.
    "campaign.drafted": _("Notice to the people affected drafted"),
    "campaign.approve": _("Notice to the people affected approved"),
    "campaign.start_sending": _("Sending the notice to the people affected"),
    "campaign.finish": _("Notice to the people affected sent"),
    "campaign.cancel": _("Notice to the people affected cancelled"),
    # Documents (incidents/legal/documents.py): the issued one carries its PDF's SHA-256.
    "document.drafted": _("Document drafted"),
    "document.edited": _("Document draft edited"),
    "document.issued": _("Document issued"),
    # A stakeholder update (incidents/workspace/updates.py): its body is on the timeline.
    "status_update": _("Status update posted"),
    # Tasks (incidents/workspace/tasks.py): the task's id and title, what changed.
    "task.added": _("Task added"),
    "task.updated": _("Task edited"),
    "task.done": _("Task done"),
    "task.reopened": _("Task reopened"),
    "task.deleted": _("Task removed"),
    # The post-incident review and its follow-ups (incidents/workspace/): texts by digest only.
    "review.updated": _("Post-incident review edited"),
    "review.finished": _("Post-incident review finished"),
    "review.reopened": _("Post-incident review reopened"),
    "follow_up.added": _("Follow-up action added"),
    "follow_up.updated": _("Follow-up action edited"),
    "follow_up.done": _("Follow-up action done"),
    "follow_up.reopened": _("Follow-up action reopened"),
    # Monitoring's alerts (incidents/integrations.py): the integration and the alert's name.
    "alert.repeated": _("Alert firing again"),
    "alert.resolved": _("Alert resolved at its source"),
}


def event_labels() -> dict[str, str]:
    """Every event kind's label in the active language, for the pages' scripts (JSON)."""
    return {kind: str(label) for kind, label in EVENT_LABELS.items()}


RECORD_TRANSITION_LABELS = {
    "submit": _("Mark submitted"),
    "acknowledge": _("Mark acknowledged"),
    "start_investigation": _("Mark investigating"),
    "conclude": _("Conclude"),
    "withdraw": _("Withdraw"),
    "fulfil": _("Mark fulfilled"),
    "waive": _("Not required"),
    "approve": _("Approve"),
    "cancel": _("Cancel"),
}


def label(choices: type[models.TextChoices], value: str) -> str:
    """A state's or severity's name in the active language; an unknown value as it is."""
    return str(choices(value).label) if value in choices.values else value
