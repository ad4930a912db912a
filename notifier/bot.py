"""Bot updates -> replies. Shared by the webhook view and ``run_telegram_bot`` (polling).

Every update is checked against the shape in ``notifier.updates`` first, so the handlers read
its fields without guarding each lookup.

A handler returns the reply as a Bot API call (``{"method": ..., **params}``): the webhook
answers with it in the HTTP response, the polling command sends it through the transport.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation

from core.models import Profile
from incidents.acknowledgements import acknowledge, may_acknowledge
from incidents.choices import Severity
from incidents.errors import DomainError
from incidents.lifecycle import TRANSITIONS, apply_transition, create_incident, ready_transitions
from incidents.models import Incident
from notifier.linking import LinkRefused, link_chat, unlink
from notifier.messages import alert_buttons, scrub, short_title, t
from notifier.models import ProcessedUpdate, TelegramLink
from notifier.subscriptions import follow, unfollow
from notifier.updates import MalformedUpdate, parse_update

log = logging.getLogger(__name__)
Reply = dict[str, Any]

REPLIES = {
    "en": {
        "help": "Commands: /new critical|high|medium|low <title>, /open, /status INC-2026-0007, "
        "/ack INC-2026-0007, /follow INC-2026-0007, /unfollow INC-2026-0007, /unlink",
        "new_usage": "To log a breach: /new critical|high|medium|low <title>, "
        "for example /new high Admin panel reachable without a password",
        "title_too_long": "A title is at most {max} characters.",
        "logged": "Logged {ref} ({severity}).",
        "following": "You will get every change of {ref}.",
        "unfollowed": "You no longer follow {ref}.",
        "linked": "Linked to Breach Desk account {user}. Alerts will arrive here.",
        "unknown": "This link code is unknown. Create a new one on your profile page.",
        "used": "This link code was already used. Create a new one on your profile page.",
        "expired": "This link code has expired. Create a new one on your profile page.",
        "taken": "This Telegram account is already linked to another Breach Desk account.",
        "private": "Linking works only in a private chat with the bot.",
        "private_only": "Incident commands work only in a private chat with the bot.",
        "unlinked": "Unlinked. No more alerts will be sent here.",
        "not_linked": "This Telegram account is not linked to Breach Desk.",
        "no_role": "Your role may not do that.",
        "not_found": "No such incident.",
        "acked": "Acknowledged {ref}.",
        "no_open": "No open incidents.",
    },
    "fa": {
        "help": "فرمان‌ها: /new بحرانی|زیاد|متوسط|کم <عنوان>، /open، /status INC-2026-0007، "
        "/ack INC-2026-0007، /follow INC-2026-0007، /unfollow INC-2026-0007، /unlink",
        "new_usage": "برای ثبت رخنه: /new بحرانی|زیاد|متوسط|کم <عنوان>، "
        "برای نمونه /new زیاد پنل مدیریت بی‌گذرواژه در دسترس است",
        "title_too_long": "عنوان حداکثر {max} نویسه است.",
        "logged": "{ref} ({severity}) ثبت شد.",
        "following": "از این پس هر تغییر {ref} را دریافت می‌کنید.",
        "unfollowed": "دیگر {ref} را دنبال نمی‌کنید.",
        "linked": "به حساب {user} در Breach Desk متصل شد. هشدارها اینجا می‌آیند.",
        "unknown": "این کد اتصال شناخته نشد. از صفحهٔ نمایه کد تازه بگیرید.",
        "used": "این کد اتصال پیش‌تر استفاده شده است. از صفحهٔ نمایه کد تازه بگیرید.",
        "expired": "این کد اتصال منقضی شده است. از صفحهٔ نمایه کد تازه بگیرید.",
        "taken": "این حساب تلگرام به حساب دیگری در Breach Desk متصل است.",
        "private": "اتصال فقط در گفت‌وگوی خصوصی با بات ممکن است.",
        "private_only": "فرمان‌های رخداد فقط در گفت‌وگوی خصوصی با بات کار می‌کنند.",
        "unlinked": "اتصال برداشته شد. دیگر هشداری اینجا فرستاده نمی‌شود.",
        "not_linked": "این حساب تلگرام به Breach Desk متصل نیست.",
        "no_role": "نقش شما اجازهٔ این کار را ندارد.",
        "not_found": "چنین رخدادی نیست.",
        "acked": "دریافت {ref} تأیید شد.",
        "no_open": "رخداد بازی نیست.",
    },
}


def _say(language: str, key: str, **kw: str) -> str:
    table = REPLIES.get(language, REPLIES["en"])
    return table[key].format(**{k: html.escape(v) for k, v in kw.items()})


def _link_for(telegram_user_id: int) -> TelegramLink | None:
    return (
        TelegramLink.objects.active()
        .select_related("user")
        .filter(telegram_user_id=telegram_user_id)
        .first()
    )


def _language(link: TelegramLink | None) -> str:
    return Profile.for_user(link.user).effective_language() if link else settings.LANGUAGE_CODE


def process_update(data: Any) -> Reply | None:
    """Handle one update exactly once: a repeated ``update_id`` does nothing. One that is not
    well-formed (``notifier.updates``) is logged and dropped with nothing written: answering it
    with an error would only make Telegram deliver it again, and again."""
    try:
        update = parse_update(data)
    except MalformedUpdate as bad:
        update_id = "without a readable update_id" if bad.update_id is None else bad.update_id
        log.warning("ignoring malformed Telegram update %s: %s", update_id, bad.reason)
        return None
    with transaction.atomic():
        _, created = ProcessedUpdate.objects.get_or_create(update_id=update["update_id"])
        if not created:
            log.info("ignoring repeated Telegram update %s", update["update_id"])
            return None
        if "callback_query" in update:
            return _callback(update["callback_query"])
        if "message" in update:
            return _message(update["message"])
    return None


def _message(msg: dict[str, Any]) -> Reply | None:
    text, chat, sender = msg.get("text"), msg["chat"], msg["from"]
    if text is None:  # a photo, a sticker, someone joining: nothing to answer
        return None
    command, arg = (text.split(maxsplit=1) + ["", ""])[:2]  # any whitespace, newlines too
    command = command.split("@")[0].lower()
    link = _link_for(sender["id"])
    language = _language(link)

    def reply(body: str, markup: dict[str, Any] | None = None) -> Reply:
        message = {"method": "sendMessage", "chat_id": chat["id"], "text": body}
        return {**message, "parse_mode": "HTML", **({"reply_markup": markup} if markup else {})}

    if command == "/start":
        return reply(_start(chat, sender, arg.strip(), language))
    if command == "/unlink":
        if link is None:
            return reply(_say(language, "not_linked"))
        unlink(link, "/unlink from Telegram")
        return reply(_say(language, "unlinked"))
    if command not in {"/new", "/open", "/status", "/ack", "/follow", "/unfollow"}:
        return reply(_say(language, "help"))
    if chat.get("type") != "private":  # incident lists must not land in a group's history
        return reply(_say(language, "private_only"))
    if link is None:
        return reply(_say(language, "not_linked"))
    if command == "/new":
        return reply(*_new_incident(arg, link.user, language))
    return reply(_incident_command(command, arg.strip().upper(), link.user, language))


def _severity(word: str) -> str | None:
    """A severity as typed: its name or its label, in English or Persian."""
    word = word.strip().lower()
    for severity in Severity.values:
        if word in {severity, t("en", severity).lower(), t("fa", severity)}:
            return severity
    return None


def _new_incident(arg: str, user: Any, language: str) -> tuple[str, dict[str, Any] | None]:
    """``/new <severity> <title>``: log a breach from the phone, through the same domain
    function as the web and the API. The reply names the incident, never echoes the title
    (Telegram keeps chats), and offers the next steps as buttons."""
    word, rest = (arg.split(maxsplit=1) + ["", ""])[:2]
    severity, title = _severity(word), " ".join(rest.split())
    if severity is None or not title:
        return _say(language, "new_usage"), None
    limit = Incident._meta.get_field("title").max_length
    if len(title) > limit:
        return _say(language, "title_too_long", max=str(limit)), None
    data = {"title": title, "severity": severity}
    created, refused = _attempt(language, lambda: create_incident(actor=user, data=data))
    if refused:
        return html.escape(refused), None
    incident, _event = created
    text = _say(language, "logged", ref=incident.reference, severity=t(language, severity))
    steps = ready_transitions(incident, user)
    buttons = alert_buttons(
        language=language, reference=incident.reference, acknowledge=False, transitions=steps
    )
    return text, buttons


def _start(chat: dict[str, Any], sender: dict[str, Any], token: str, language: str) -> str:
    if chat.get("type") != "private":
        return _say(language, "private")
    if not token:
        return _say(language, "help")
    try:
        user = link_chat(
            token,
            telegram_user_id=sender["id"],
            chat_id=chat["id"],
            username=sender.get("username", ""),
        )
    except LinkRefused as refused:
        return _say(language, refused.reason)
    return _say(Profile.for_user(user).effective_language(), "linked", user=user.get_username())


def _incident_command(command: str, ref: str, user: Any, language: str) -> str:
    incidents = Incident.objects.visible_to(user)
    if command == "/open":
        rows = incidents.open().order_by("-created_at")[:15]
        lines = [_line(i, language) for i in rows]
        return "\n".join(lines) if lines else _say(language, "no_open")
    incident = incidents.filter(reference=ref).first()
    if incident is None:
        return _say(language, "not_found")
    if command == "/status":
        return _line(incident, language)
    if command == "/follow":
        follow(user, incident)
        return _say(language, "following", ref=incident.reference)
    if command == "/unfollow":
        unfollow(user, incident)
        return _say(language, "unfollowed", ref=incident.reference)
    _done, refused = _attempt(language, lambda: acknowledge(incident, user))
    return html.escape(refused) if refused else _say(language, "acked", ref=incident.reference)


def _attempt(language: str, action: Callable[[], Any]) -> tuple[Any, str | None]:
    """Run a domain change: (its result, None), or (None, why not) in the user's language (the
    domain's messages are translated when they are raised)."""
    with translation.override(language):
        try:
            return action(), None
        except DomainError as refused:
            return None, refused.detail


def _line(incident: Incident, language: str) -> str:
    title = ""
    if settings.TELEGRAM_INCLUDE_TITLE:
        title = f" · {html.escape(short_title(incident.title))}"
    return (
        f"<b>{incident.reference}</b> · {html.escape(t(language, incident.severity))}"
        f" · {html.escape(incident.state)}{title}"
    )


def _callback(query: dict[str, Any]) -> Reply:
    link = _link_for(query["from"]["id"])
    language = _language(link)

    def answer(text: str, alert: bool = True) -> Reply:
        return {
            "method": "answerCallbackQuery",
            "callback_query_id": query["id"],
            "text": scrub(text)[:200],
            "show_alert": alert,
        }

    # "ack:<reference>" or "run:<transition>:<reference>" (messages.alert_buttons)
    action, _colon, target = query.get("data", "").partition(":")
    name, reference = "", target
    if action == "run":
        name, _colon, reference = target.partition(":")
    if action not in ("ack", "run") or (action == "run" and name not in TRANSITIONS):
        return answer(_say(language, "help"))
    if link is None:
        return answer(_say(language, "not_linked"))
    if action == "ack" and not may_acknowledge(link.user):
        return answer(_say(language, "no_role"))
    incident = Incident.objects.visible_to(link.user).filter(reference=reference).first()
    if incident is None:
        return answer(_say(language, "not_found"))
    if action == "ack":
        _done, refused = _attempt(language, lambda: acknowledge(incident, link.user))
        done = _say(language, "acked", ref=incident.reference)
    else:  # the role, the state and the guards are the domain's to check, as for the API
        _done, refused = _attempt(
            language, lambda: apply_transition(incident, name, actor=link.user)
        )
        done = f"{t(language, name)} · {incident.reference}"
    return answer(refused) if refused else answer(done, alert=False)
