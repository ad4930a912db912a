from django.urls import path

from notifier.oncall_api import OnCallView, SwapShiftView, TakeShiftView
from notifier.views import ChatLinkView, SubscriptionsView, SubscriptionView, telegram_webhook

webhook_urlpatterns = [path("telegram/webhook/", telegram_webhook, name="telegram-webhook")]
api_urlpatterns = [
    path("me/telegram-link/", ChatLinkView.as_view(), name="telegram-link"),
    path("me/subscriptions/", SubscriptionsView.as_view(), name="telegram-subscriptions"),
    path(
        "me/subscriptions/<str:reference>/",
        SubscriptionView.as_view(),
        name="telegram-subscription",
    ),
    path("oncall/", OnCallView.as_view(), name="oncall"),
    path("oncall/<int:pk>/take/", TakeShiftView.as_view(), name="oncall-take"),
    path("oncall/<int:pk>/swap/", SwapShiftView.as_view(), name="oncall-swap"),
]
