from django.urls import path

from frontend.views import (
    alert_preferences,
    auth,
    dashboard,
    documents,
    incidents,
    legal,
    notices,
    oncall,
    profile,
    public,
    register,
    review,
    tasks,
    updates,
)

app_name = "frontend"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("record/verify/", dashboard.verify_now, name="verify_record"),
    path("campaigns-in-flight/", dashboard.campaigns_in_flight, name="campaigns_in_flight"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", auth.set_language, name="set_language"),
    path("profile/", profile.profile, name="profile"),
    path("profile/telegram/", profile.chat_link, {"channel": "telegram"}, name="telegram_link"),
    path("profile/chats/<str:channel>/link/", profile.chat_link, name="chat_link"),
    path("profile/chats/<str:channel>/unlink/", profile.chat_unlink, name="chat_unlink"),
    path("profile/alerts/", alert_preferences.alert_preferences, name="alert_preferences"),
    path("incidents/", incidents.incident_list, name="incidents"),
    # On-call rotations (issue 22 section 2; docs/oncall.md)
    path("oncall/", oncall.oncall, name="oncall"),
    path("oncall/<int:pk>/take/", oncall.shift_take, name="shift_take"),
    path("oncall/<int:pk>/swap/", oncall.shift_swap, name="shift_swap"),
    path("incidents/new/", incidents.incident_create, name="incident_create"),
    path("incidents/<str:reference>/", incidents.incident_detail, name="incident"),
    path(
        "incidents/<str:reference>/edit/<str:section>/",
        incidents.incident_edit,
        name="incident_edit",
    ),
    path(
        "incidents/<str:reference>/transitions/<str:name>/",
        incidents.incident_transition,
        name="incident_transition",
    ),
    path("incidents/<str:reference>/notes/", incidents.note_add, name="note_add"),
    # Tasks (issue 20): add, done/undone, change, delete.
    path("incidents/<str:reference>/tasks/", tasks.task_add, name="task_add"),
    path("incidents/<str:reference>/tasks/<int:pk>/done/", tasks.task_done, name="task_done"),
    path("incidents/<str:reference>/tasks/<int:pk>/edit/", tasks.task_edit, name="task_edit"),
    path("incidents/<str:reference>/tasks/<int:pk>/delete/", tasks.task_delete, name="task_delete"),
    path("incidents/<str:reference>/access/", incidents.incident_access, name="incident_access"),
    path(
        "incidents/<str:reference>/acknowledge/",
        incidents.incident_acknowledge,
        name="incident_acknowledge",
    ),
    path(
        "incidents/<str:reference>/notification-decision/",
        incidents.notification_decision,
        name="notification_decision",
    ),
    # The people affected (issue 18): the register and the notice campaigns.
    path(
        "incidents/<str:reference>/affected-people/",
        register.register_page,
        name="register",
    ),
    path(
        "incidents/<str:reference>/affected-people/import/",
        register.people_import,
        name="people_import",
    ),
    path(
        "incidents/<str:reference>/affected-people/add/",
        register.person_add,
        name="person_add",
    ),
    path(
        "incidents/<str:reference>/affected-people/live/",
        notices.affected_live,
        name="affected_live",
    ),
    path(
        "incidents/<str:reference>/notice-campaigns/",
        notices.campaign_draft,
        name="campaign_draft",
    ),
    path(
        "incidents/<str:reference>/notice-campaigns/<int:pk>/approve/",
        notices.campaign_approve,
        name="campaign_approve",
    ),
    path(
        "incidents/<str:reference>/notice-campaigns/<int:pk>/cancel/",
        notices.campaign_cancel,
        name="campaign_cancel",
    ),
    path(
        "incidents/<str:reference>/notice-campaigns/<int:pk>/preview/",
        notices.campaign_preview,
        name="campaign_preview",
    ),
    path("incidents/<str:reference>/referrals/new/", legal.referral_create, name="referral_create"),
    path(
        "incidents/<str:reference>/<str:kind>/<int:pk>/transitions/<str:name>/",
        legal.record_transition,
        name="record_transition",
    ),
    path("incidents/<str:reference>/evidence/", legal.evidence_upload, name="evidence_upload"),
    # Regulator reports, the complaint letter, the executive brief (issue 19; docs/legal.md)
    path(
        "incidents/<str:reference>/documents/new/",
        documents.document_create,
        name="document_create",
    ),
    path(
        "incidents/<str:reference>/documents/<int:pk>/edit/",
        documents.document_edit,
        name="document_edit",
    ),
    path(
        "incidents/<str:reference>/documents/<int:pk>/issue/",
        documents.document_issue,
        name="document_issue",
    ),
    # Status updates and following an incident (issue 20 section 2; docs/workspace.md)
    path("incidents/<str:reference>/updates/", updates.update_post, name="update_post"),
    path("incidents/<str:reference>/follow/", updates.incident_follow, name="incident_follow"),
    # The post-incident review and its follow-ups (issue 20 section 3; docs/workspace.md)
    path("incidents/<str:reference>/review/", review.review_save, name="review_save"),
    path("incidents/<str:reference>/follow-ups/", review.follow_up_add, name="follow_up_add"),
    path(
        "incidents/<str:reference>/follow-ups/<int:pk>/",
        review.follow_up_edit,
        name="follow_up_edit",
    ),
    path(
        "incidents/<str:reference>/follow-ups/<int:pk>/done/",
        review.follow_up_done,
        name="follow_up_done",
    ),
    # The public notice page and its "Am I affected?" check: anonymous (frontend/views/public.py).
    path("notice/<str:slug>/", public.notice_page, name="public_notice"),
    path("notice/<str:slug>/check/", public.check, name="public_check"),
    path("notice/<str:slug>/verify/", public.verify_code, name="public_verify"),
    path("notice/<str:slug>/answer/", public.answer_page, name="public_answer"),
]
