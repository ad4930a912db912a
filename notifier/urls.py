from django.urls import path

from notifier.views import ChatLinkView, SubscriptionsView, SubscriptionView, telegram_webhook
from notifier.webhooks_api import (
    WebhookDeliveriesView,
    WebhookPingView,
    WebhookSecretView,
    WebhooksView,
    WebhookView,
)

webhook_urlpatterns = [path("telegram/webhook/", telegram_webhook, name="telegram-webhook")]
api_urlpatterns = [
    path("me/telegram-link/", ChatLinkView.as_view(), name="telegram-link"),
    path("me/subscriptions/", SubscriptionsView.as_view(), name="telegram-subscriptions"),
    path(
        "me/subscriptions/<str:reference>/",
        SubscriptionView.as_view(),
        name="telegram-subscription",
    ),
    path("webhooks/", WebhooksView.as_view(), name="webhooks"),
    path("webhooks/<int:pk>/", WebhookView.as_view(), name="webhook"),
    path("webhooks/<int:pk>/secret/", WebhookSecretView.as_view(), name="webhook-secret"),
    path("webhooks/<int:pk>/ping/", WebhookPingView.as_view(), name="webhook-ping"),
    path(
        "webhooks/<int:pk>/deliveries/", WebhookDeliveriesView.as_view(), name="webhook-deliveries"
    ),
]
