from django.urls import path

from notifier.views import TelegramLinkView, telegram_webhook

webhook_urlpatterns = [path("telegram/webhook/", telegram_webhook, name="telegram-webhook")]
api_urlpatterns = [path("me/telegram-link/", TelegramLinkView.as_view(), name="telegram-link")]
