from django.urls import path

from notifier.preferences_api import AlertPreferencesView
from notifier.views import ChatLinkView, SubscriptionsView, SubscriptionView, telegram_webhook

webhook_urlpatterns = [path("telegram/webhook/", telegram_webhook, name="telegram-webhook")]
api_urlpatterns = [
    path("me/telegram-link/", ChatLinkView.as_view(), name="telegram-link"),
    path("me/subscriptions/", SubscriptionsView.as_view(), name="telegram-subscriptions"),
    path("me/alert-preferences/", AlertPreferencesView.as_view(), name="alert-preferences"),
    path(
        "me/subscriptions/<str:reference>/",
        SubscriptionView.as_view(),
        name="telegram-subscription",
    ),
]
