"""Bot updates -> replies, for every bot channel (Telegram, Bale). Shared by the webhook views
and ``run_bot`` (polling). Links, link tokens and handled update ids are per channel.

Every update is checked against the shape in ``notifier.updates`` first, so the handlers read
its fields without guarding each lookup.

A handler returns the reply as a Bot API call (``{"method": ..., **params}``): the webhook
answers with it in the HTTP response (or sends it, on a channel that cannot take a reply
there), the polling command sends it through the transport.

Replies are the catalogue's sentences (STYLE.md rule 18), in the sender's language: handlers
run under ``translation.override``. A message is HTML (parse mode), so its sentences are
escaped; a button's answer is plain text.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from core.formats import digits
from core.models import Profile
from incidents.acknowledgements import acknowledge, may_acknowledge
from incidents.choices import Severity, State
from incidents.errors import DomainError
from incidents.labels import EVENT_LABELS, label
from incidents.lifecycle import TRANSITIONS, apply_transition, create_incident, ready_transitions
from incidents.models import Incident
from notifier.channels import BotChannel, bot_channel
from notifier.linking import LinkRefused, link_chat, unlink
from notifier.messages import alert_buttons, short_title
from notifier.models import BotUpdate, ChatLink
from notifier.privacy import scrub
from notifier.subscriptions import follow, unfollow
from notifier.task_alerts import my_tasks_text
from notifier.updates import MalformedUpdate, parse_update

log = logging.getLogger(__name__)
Reply = dict[str, Any]

COMMANDS = frozenset({"/new", "/open", "/status", "/ack", "/follow", "/unfollow", "/tasks"})
# Why a link code was refused (``notifier.linking.LinkRefused.reason``), as the bot says it.
LINK_REFUSALS = {
    "unknown": gettext_lazy("This link code is unknown. Create a new one on your profile page."),
    "used": gettext_lazy("This link code was already used. Create a new one on your profile page."),
    "expired": gettext_lazy("This link code has expired. Create a new one on your profile page."),
    "taken": gettext_lazy(
        "This %(channel)s account is already linked to another Breach Desk account."
    ),
}


def _link_for(bot: BotChannel, account_id: int) -> ChatLink | None:
    links = ChatLink.objects.active().on(bot.name).select_related("user")
    return links.filter(account_id=account_id).first()


def _language(link: ChatLink | None) -> str:
    return Profile.for_user(link.user).effective_language() if link else settings.LANGUAGE_CODE


def process_update(channel: str, data: Any) -> Reply | None:
    """Handle one update of ``channel`` exactly once: a repeated ``update_id`` does nothing
    (the same id on the other channel is another update). One that is not well-formed
    (``notifier.updates``) is logged and dropped with nothing written: answering it with an
    error would only make the channel deliver it again, and again."""
    bot = bot_channel(channel)
    try:
        update = parse_update(data)
    except MalformedUpdate as bad:
        update_id = "without a readable update_id" if bad.update_id is None else bad.update_id
        log.warning("ignoring malformed %s update %s: %s", bot.label, update_id, bad.reason)
        return None
    with transaction.atomic():
        _, created = BotUpdate.objects.get_or_create(
            channel=bot.name, update_id=update["update_id"]
        )
        if not created:
            log.info("ignoring repeated %s update %s", bot.label, update["update_id"])
            return None
        if "callback_query" in update:
            return _callback(bot, update["callback_query"])
        if "message" in update:
            return _message(bot, update["message"])
    return None


def _message(bot: BotChannel, msg: dict[str, Any]) -> Reply | None:
    text, chat, sender = msg.get("text"), msg["chat"], msg["from"]
    if text is None:  # a photo, a sticker, someone joining: nothing to answer
        return None
    command, arg = (text.split(maxsplit=1) + ["", ""])[:2]  # any whitespace, newlines too
    command = command.split("@")[0].lower()
    link = _link_for(bot, sender["id"])
    with translation.override(_language(link)):
        body, markup = _answer(bot, command, arg, chat, sender, link)
    message = {"method": "sendMessage", "chat_id": chat["id"], "text": body}
    return {**message, "parse_mode": "HTML", **({"reply_markup": markup} if markup else {})}


def _answer(
    bot: BotChannel,
    command: str,
    arg: str,
    chat: dict[str, Any],
    sender: dict[str, Any],
    link: ChatLink | None,
) -> tuple[str, dict[str, Any] | None]:
    """The reply to a command (HTML) and its buttons, in the active language."""
    if command == "/start":
        return html.escape(_start(bot, chat, sender, arg.strip())), None
    if command == "/unlink":
        if link is None:
            return html.escape(_not_linked(bot)), None
        unlink(link, f"/unlink from {bot.label}")
        return html.escape(gettext("Unlinked. No more alerts will be sent here.")), None
    if command not in COMMANDS:
        return html.escape(_help()), None
    if chat.get("type") != "private":  # incident lists must not land in a group's history
        refusal = gettext("Incident commands work only in a private chat with the bot.")
        return html.escape(refusal), None
    if link is None:
        return html.escape(_not_linked(bot)), None
    if command == "/new":
        return _new_incident(arg, link.user)
    if command == "/tasks":  # the open tasks assigned to the sender (issue 20)
        return my_tasks_text(link.user), None
    return _incident_command(command, arg.strip().upper(), link.user), None


def _severity_words() -> str:
    """The severities as ``/new`` takes them, most severe first, in the active language."""
    return "|".join(str(name).lower() for name in reversed(Severity.labels))


def _severity(word: str) -> str | None:
    """A severity as typed: its value, or its name in any of the site's languages."""
    word = word.strip().lower()
    if word in Severity.values:
        return word
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            named = {str(name).lower(): value for value, name in Severity.choices}
        if word in named:
            return named[word]
    return None


def _help() -> str:
    return gettext(
        "Commands: /new %(severities)s <title>, /open, /status INC-2026-0007, "
        "/ack INC-2026-0007, /follow INC-2026-0007, /unfollow INC-2026-0007, /tasks, /unlink"
    ) % {"severities": _severity_words()}


def _not_linked(bot: BotChannel) -> str:
    return gettext("This %(channel)s account is not linked to Breach Desk.") % {
        "channel": bot.label
    }


def _not_found() -> str:
    return gettext("No such incident.")


def _acknowledged(reference: str) -> str:
    return gettext("Acknowledged %(reference)s.") % {"reference": reference}


def _new_incident(arg: str, user: Any) -> tuple[str, dict[str, Any] | None]:
    """``/new <severity> <title>``: log a breach from the phone, through the same domain
    function as the web and the API. The reply names the incident, never echoes the title
    (Telegram keeps chats), and offers the next steps as buttons."""
    word, rest = (arg.split(maxsplit=1) + ["", ""])[:2]
    severity, title = _severity(word), " ".join(rest.split())
    if severity is None or not title:
        usage = gettext(
            "To log a breach: /new %(severities)s <title>, "
            "for example /new high Admin panel reachable without a password"
        )
        return html.escape(usage % {"severities": _severity_words()}), None
    limit = Incident._meta.get_field("title").max_length
    if len(title) > limit:
        too_long = gettext("A title is at most %(max)s characters.") % {"max": digits(limit)}
        return html.escape(too_long), None
    data = {"title": title, "severity": severity}
    created, refused = _attempt(lambda: create_incident(actor=user, data=data))
    if refused:
        return html.escape(refused), None
    incident, _event = created
    logged = gettext("Logged %(reference)s (%(severity)s).") % {
        "reference": incident.reference,
        "severity": label(Severity, severity),
    }
    buttons = alert_buttons(
        language=translation.get_language(),
        reference=incident.reference,
        acknowledge=False,
        transitions=ready_transitions(incident, user),
    )
    return html.escape(logged), buttons


def _start(bot: BotChannel, chat: dict[str, Any], sender: dict[str, Any], token: str) -> str:
    if chat.get("type") != "private":
        return gettext("Linking works only in a private chat with the bot.")
    if not token:
        return _help()
    try:
        user = link_chat(
            token,
            account_id=sender["id"],
            chat_id=chat["id"],
            username=sender.get("username", ""),
            channel=bot.name,
        )
    except LinkRefused as refused:
        return str(LINK_REFUSALS[refused.reason]) % {"channel": bot.label}
    with translation.override(Profile.for_user(user).effective_language()):
        linked = gettext("Linked to Breach Desk account %(user)s. Alerts will arrive here.")
        return linked % {"user": user.get_username()}


def _incident_command(command: str, ref: str, user: Any) -> str:
    """``/open``, ``/status``, ``/follow``, ``/unfollow`` and ``/ack``: the reply, as HTML."""
    incidents = Incident.objects.visible_to(user)
    if command == "/open":
        rows = incidents.open().order_by("-created_at")[:15]
        lines = [_line(i) for i in rows]
        return "\n".join(lines) if lines else html.escape(gettext("No open incidents."))
    incident = incidents.filter(reference=ref).first()
    if incident is None:
        return html.escape(_not_found())
    values = {"reference": incident.reference}
    if command == "/status":
        return _line(incident)
    if command == "/follow":
        follow(user, incident)
        return html.escape(gettext("You will get every change of %(reference)s.") % values)
    if command == "/unfollow":
        unfollow(user, incident)
        return html.escape(gettext("You no longer follow %(reference)s.") % values)
    _done, refused = _attempt(lambda: acknowledge(incident, user))
    return html.escape(refused or _acknowledged(incident.reference))


def _attempt(action: Callable[[], Any]) -> tuple[Any, str | None]:
    """Run a domain change: (its result, None), or (None, why not) in the active language (the
    domain's messages are translated when they are raised)."""
    try:
        return action(), None
    except DomainError as refused:
        return None, refused.detail


def _line(incident: Incident) -> str:
    """One incident for ``/open`` and ``/status``: the pages' names for severity and state."""
    title = ""
    if settings.TELEGRAM_INCLUDE_TITLE:
        title = f" · {html.escape(short_title(incident.title))}"
    return (
        f"<b>{incident.reference}</b> · {html.escape(label(Severity, incident.severity))}"
        f" · {html.escape(label(State, incident.state))}{title}"
    )


def _callback(bot: BotChannel, query: dict[str, Any]) -> Reply:
    link = _link_for(bot, query["from"]["id"])
    with translation.override(_language(link)):
        text, alert = _pressed(bot, query, link)
    return {
        "method": "answerCallbackQuery",
        "callback_query_id": query["id"],
        "text": scrub(text)[:200],
        "show_alert": alert,
    }


def _pressed(bot: BotChannel, query: dict[str, Any], link: ChatLink | None) -> tuple[str, bool]:
    """A button press: (the answer, plain text; whether it is a refusal shown as an alert)."""
    # "ack:<reference>" or "run:<transition>:<reference>" (messages.alert_buttons)
    action, _colon, target = query.get("data", "").partition(":")
    name, reference = "", target
    if action == "run":
        name, _colon, reference = target.partition(":")
    if action not in ("ack", "run") or (action == "run" and name not in TRANSITIONS):
        return _help(), True
    if link is None:
        return _not_linked(bot), True
    if action == "ack" and not may_acknowledge(link.user):
        return gettext("Your role may not do that."), True
    incident = Incident.objects.visible_to(link.user).filter(reference=reference).first()
    if incident is None:
        return _not_found(), True
    if action == "ack":
        _done, refused = _attempt(lambda: acknowledge(incident, link.user))
        done = _acknowledged(incident.reference)
    else:  # the role, the state and the guards are the domain's to check, as for the API
        _done, refused = _attempt(lambda: apply_transition(incident, name, actor=link.user))
        done = f"{EVENT_LABELS.get(name, name)} · {incident.reference}"
    return (refused, True) if refused else (done, False)
