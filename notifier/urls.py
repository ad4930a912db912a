from django.urls import path

from notifier.views import (
    BaleLinkView,
    ChatLinkView,
    SubscriptionsView,
    SubscriptionView,
    bale_webhook,
    telegram_webhook,
)

webhook_urlpatterns = [
    path("telegram/webhook/", telegram_webhook, name="telegram-webhook"),
    # Bale sends no secret header: the secret is in the path (notifier.views.bale_webhook).
    path("bale/webhook/", bale_webhook, name="bale-webhook"),
    path("bale/webhook/<str:secret>/", bale_webhook, name="bale-webhook-secret"),
]
api_urlpatterns = [
    path("me/telegram-link/", ChatLinkView.as_view(), name="telegram-link"),
    path("me/bale-link/", BaleLinkView.as_view(), name="bale-link"),
    path("me/subscriptions/", SubscriptionsView.as_view(), name="telegram-subscriptions"),
    path(
        "me/subscriptions/<str:reference>/",
        SubscriptionView.as_view(),
        name="telegram-subscription",
    ),
]
