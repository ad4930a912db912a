from django.urls import path

from notifier.models import BALE, TELEGRAM
from notifier.oncall_api import OnCallView, SwapShiftView, TakeShiftView
from notifier.preferences_api import AlertPreferencesView
from notifier.views import (
    BaleLinkView,
    ChatLinkView,
    SubscriptionsView,
    SubscriptionView,
    bot_webhook,
)
from notifier.webhooks_api import (
    WebhookDeliveriesView,
    WebhookPingView,
    WebhookSecretView,
    WebhooksView,
    WebhookView,
)

webhook_urlpatterns = [
    path("telegram/webhook/", bot_webhook, {"channel": TELEGRAM}, name="telegram-webhook"),
    # Bale sends no secret header: the secret is in the path (notifier.views.bot_webhook).
    path("bale/webhook/", bot_webhook, {"channel": BALE}, name="bale-webhook"),
    path("bale/webhook/<str:secret>/", bot_webhook, {"channel": BALE}, name="bale-webhook-secret"),
]
api_urlpatterns = [
    path("me/telegram-link/", ChatLinkView.as_view(), name="telegram-link"),
    path("me/bale-link/", BaleLinkView.as_view(), name="bale-link"),
    path("me/subscriptions/", SubscriptionsView.as_view(), name="telegram-subscriptions"),
    path("me/alert-preferences/", AlertPreferencesView.as_view(), name="alert-preferences"),
    path(
        "me/subscriptions/<str:reference>/",
        SubscriptionView.as_view(),
        name="telegram-subscription",
    ),
    path("oncall/", OnCallView.as_view(), name="oncall"),
    path("oncall/<int:pk>/take/", TakeShiftView.as_view(), name="oncall-take"),
    path("oncall/<int:pk>/swap/", SwapShiftView.as_view(), name="oncall-swap"),
    path("webhooks/", WebhooksView.as_view(), name="webhooks"),
    path("webhooks/<int:pk>/", WebhookView.as_view(), name="webhook"),
    path("webhooks/<int:pk>/secret/", WebhookSecretView.as_view(), name="webhook-secret"),
    path("webhooks/<int:pk>/ping/", WebhookPingView.as_view(), name="webhook-ping"),
    path(
        "webhooks/<int:pk>/deliveries/", WebhookDeliveriesView.as_view(), name="webhook-deliveries"
    ),
]
