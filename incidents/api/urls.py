from django.urls import path
from rest_framework.routers import SimpleRouter

from incidents.api import (
    access,
    decision,
    integrations,
    legal_documents,
    legal_evidence,
    legal_obligations,
    legal_record,
    legal_referrals,
    notices,
    register,
    review,
    status_updates,
    tasks,
)
from incidents.api.views import EventFeedView, IncidentViewSet

router = SimpleRouter(trailing_slash=True)
router.register("incidents", IncidentViewSet, basename="incident")

urlpatterns = [
    path("events/", EventFeedView.as_view(), name="event-feed"),
    path("access-log/", access.AccessLogView.as_view(), name="access-log"),
    path(
        "incidents/<str:reference>/notification-decision/",
        decision.NotificationDecisionView.as_view(),
        name="notification-decision",
    ),
    # Legal workspace (issue 6; docs/legal.md)
    path(
        "incidents/<str:reference>/referrals/",
        legal_referrals.IncidentReferralsView.as_view(),
        name="incident-referrals",
    ),
    path("referrals/<int:pk>/", legal_referrals.ReferralView.as_view(), name="referral"),
    path(
        "referrals/<int:pk>/transitions/<str:name>/",
        legal_referrals.ReferralTransitionView.as_view(),
        name="referral-transition",
    ),
    path(
        "referrals/<int:pk>/evidence/",
        legal_referrals.ReferralHandoverView.as_view(),
        name="referral-handover",
    ),
    path(
        "incidents/<str:reference>/obligations/",
        legal_obligations.IncidentObligationsView.as_view(),
        name="incident-obligations",
    ),
    path("obligations/", legal_obligations.ObligationListView.as_view(), name="obligations"),
    path(
        "obligations/<int:pk>/transitions/<str:name>/",
        legal_obligations.ObligationTransitionView.as_view(),
        name="obligation-transition",
    ),
    path(
        "jurisdiction-rules/",
        legal_obligations.JurisdictionRuleListView.as_view(),
        name="jurisdiction-rules",
    ),
    path(
        "incidents/<str:reference>/evidence/",
        legal_evidence.IncidentEvidenceView.as_view(),
        name="incident-evidence",
    ),
    path("evidence/<int:pk>/", legal_evidence.EvidenceView.as_view(), name="evidence"),
    path(
        "evidence/<int:pk>/download/",
        legal_evidence.EvidenceDownloadView.as_view(),
        name="evidence-download",
    ),
    path(
        "incidents/<str:reference>/dossier.pdf",
        legal_record.DossierPdfView.as_view(),
        name="dossier-pdf",
    ),
    path(
        "incidents/<str:reference>/dossier.zip",
        legal_record.DossierZipView.as_view(),
        name="dossier-zip",
    ),
    path(
        "record/verification/", legal_record.VerificationView.as_view(), name="record-verification"
    ),
    # Regulator reports, the complaint letter, the executive brief (issue 19; docs/legal.md)
    path(
        "incidents/<str:reference>/documents/",
        legal_documents.IncidentDocumentsView.as_view(),
        name="incident-documents",
    ),
    path(
        "incidents/<str:reference>/documents/<int:pk>/",
        legal_documents.DocumentView.as_view(),
        name="document",
    ),
    path(
        "incidents/<str:reference>/documents/<int:pk>/issue/",
        legal_documents.DocumentIssueView.as_view(),
        name="document-issue",
    ),
    path(
        "incidents/<str:reference>/documents/<int:pk>.pdf",
        legal_documents.DocumentPdfView.as_view(),
        name="document-pdf",
    ),
    # The affected-people register (issue 18 part 2)
    path(
        "incidents/<str:reference>/affected-people/",
        register.AffectedPeopleView.as_view(),
        name="affected-people",
    ),
    path(
        "incidents/<str:reference>/affected-people/import/",
        register.AffectedPeopleImportView.as_view(),
        name="affected-people-import",
    ),
    path(
        "incidents/<str:reference>/affected-people/<int:pk>/",
        register.AffectedPersonView.as_view(),
        name="affected-person",
    ),
    # Notice campaigns (issue 18 part 3; docs/notifications.md)
    path(
        "incidents/<str:reference>/notice-campaigns/",
        notices.NoticeCampaignsView.as_view(),
        name="notice-campaigns",
    ),
    path(
        "incidents/<str:reference>/notice-campaigns/<int:pk>/",
        notices.NoticeCampaignView.as_view(),
        name="notice-campaign",
    ),
    path(
        "incidents/<str:reference>/notice-campaigns/<int:pk>/approve/",
        notices.NoticeCampaignApproveView.as_view(),
        name="notice-campaign-approve",
    ),
    path(
        "incidents/<str:reference>/notice-campaigns/<int:pk>/cancel/",
        notices.NoticeCampaignCancelView.as_view(),
        name="notice-campaign-cancel",
    ),
    path(
        "incidents/<str:reference>/notice-campaigns/<int:pk>/preview/",
        notices.NoticeCampaignPreviewView.as_view(),
        name="notice-campaign-preview",
    ),
    # Status updates on a cadence (issue 20 section 2; docs/workspace.md)
    path(
        "incidents/<str:reference>/updates/",
        status_updates.IncidentStatusUpdatesView.as_view(),
        name="incident-updates",
    ),
    # Runbooks and tasks (issue 20; docs/workspace.md)
    path(
        "incidents/<str:reference>/tasks/",
        tasks.IncidentTasksView.as_view(),
        name="incident-tasks",
    ),
    path(
        "incidents/<str:reference>/tasks/<int:pk>/",
        tasks.TaskView.as_view(),
        name="incident-task",
    ),
    # The post-incident review and its follow-ups (issue 20 section 3; docs/workspace.md)
    path("incidents/<str:reference>/review/", review.ReviewView.as_view(), name="review"),
    path("incidents/<str:reference>/review.pdf", review.ReviewPdfView.as_view(), name="review-pdf"),
    path(
        "incidents/<str:reference>/follow-ups/",
        review.FollowUpsView.as_view(),
        name="follow-ups",
    ),
    path(
        "incidents/<str:reference>/follow-ups/<int:pk>/",
        review.FollowUpView.as_view(),
        name="follow-up",
    ),
    # Monitoring's alerts in (issue 22 section 3; docs/integrations.md): the key is the secret.
    path(
        "integrations/<str:key>/alerts/",
        integrations.IncomingAlertsView.as_view(),
        name="integration-alerts",
    ),
    *router.urls,
]
