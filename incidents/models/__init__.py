"""The domain's tables, one module per concept: the incident and its lifecycle, the legal
records (referrals, rules, obligations), evidence and custody, and the event log. Importing
this package registers every model with Django; callers import the names below from here."""

from incidents.models.access import AccessKind, AccessRecord
from incidents.models.checkpoints import CheckpointReason, RecordCheckpoint
from incidents.models.checks import AffectedCheck
from incidents.models.documents import DOCUMENT_RECORD, Document, DocumentKind
from incidents.models.events import EVENT_BODY, VERDICT, Event, LogHead, VerificationRun
from incidents.models.evidence import EVIDENCE_FILE, CustodyEntry, Evidence
from incidents.models.incident import FACTS, SCOPE, STAMPS, Incident, roles_see_incidents, sees
from incidents.models.integrations import IncomingAlert, Integration, IntegrationKind
from incidents.models.legal import (
    REFERRAL_RECORD,
    JurisdictionRule,
    Obligation,
    ObligationReminder,
    Referral,
)
from incidents.models.notices import Notice, NoticeCampaign, NoticeChannel, NoticeTemplate
from incidents.models.notification import (
    CategorySensitivity,
    Consequence,
    Exemption,
    NotificationDecision,
    Outcome,
    Sensitivity,
)
from incidents.models.register import AffectedPerson, NoticeLanguage
from incidents.models.workspace import (
    TASK_RECORD,
    FollowUp,
    Review,
    RunbookStep,
    StatusUpdate,
    Task,
    UpdateCadence,
    UpdateReminder,
)

__all__ = [
    "DOCUMENT_RECORD",
    "EVENT_BODY",
    "EVIDENCE_FILE",
    "FACTS",
    "REFERRAL_RECORD",
    "SCOPE",
    "TASK_RECORD",
    "STAMPS",
    "VERDICT",
    "AccessKind",
    "AccessRecord",
    "AffectedCheck",
    "AffectedPerson",
    "CategorySensitivity",
    "CheckpointReason",
    "Consequence",
    "CustodyEntry",
    "Document",
    "DocumentKind",
    "Event",
    "IncomingAlert",
    "Integration",
    "IntegrationKind",
    "Evidence",
    "FollowUp",
    "Exemption",
    "Incident",
    "JurisdictionRule",
    "LogHead",
    "Notice",
    "NoticeCampaign",
    "NoticeChannel",
    "NoticeLanguage",
    "NoticeTemplate",
    "NotificationDecision",
    "Obligation",
    "ObligationReminder",
    "Outcome",
    "RecordCheckpoint",
    "Referral",
    "Review",
    "RunbookStep",
    "Sensitivity",
    "StatusUpdate",
    "Task",
    "UpdateCadence",
    "UpdateReminder",
    "VerificationRun",
    "roles_see_incidents",
    "sees",
]
