"""Each person chooses per channel which alerts they get (issue 22): defaults, severity
threshold, own incidents only, quiet hours across midnight with critical and escalations
breaking through; the API and the page that set them."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from core.models import Profile
from incidents.acknowledgements import ESCALATED
from incidents.changing import changing
from incidents.events import append_event
from incidents.lifecycle import apply_transition, create_incident
from incidents.models import Event
from notifier.models import AlertPreference, ChatLink, Delivery
from notifier.outbox import derive_deliveries, enqueue_personal
from notifier.preferences import Preference, quiet_until, set_preference
from notifier.recipients import personal_routes, reach, recipients
from notifier.subscriptions import follow
from tests.conftest import client_for, make_user

TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")


def at_tehran(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, 1, hour, minute, tzinfo=TEHRAN)


def routed(event: Event, now: dt.datetime | None = None) -> set[tuple[str, str]]:
    """(username, channel) pairs the event goes to."""
    return {(r.user.username, r.channel) for r in recipients(event, reach(), now=now)}


def latest(incident: Any) -> Event:
    return Event.objects.filter(incident=incident).order_by("-seq").first()


@pytest.fixture
def engineer2(users: dict[str, User], linked: dict[str, ChatLink]) -> User:
    return linked["engineer2"].user


def test_email_by_default_gets_critical_incidents_only(users, linked, settings):
    settings.EMAIL_ALERTS = True
    for user in (users["engineer"], users["executive"]):
        user.email = f"{user.username}@corp.example"
        user.save()
    high, _ = create_incident(actor=users["admin"], data={"title": "A", "severity": "high"})
    critical, _ = create_incident(actor=users["admin"], data={"title": "B", "severity": "critical"})
    assert ("engineer", "email") not in routed(latest(high))
    assert ("engineer", "telegram") in routed(latest(high))
    assert {("engineer", "email"), ("executive", "email")} <= routed(latest(critical))


def test_no_email_alerts_when_the_server_turns_them_off(users, settings):
    settings.EMAIL_ALERTS = False
    users["engineer"].email = "engineer@corp.example"
    users["engineer"].save()
    set_preference(users["engineer"], "email", min_severity="low")
    incident, _ = create_incident(actor=users["admin"], data={"title": "B", "severity": "critical"})
    assert routed(latest(incident)) == set()


def test_threshold_applies_to_every_alert_about_the_incident(users, engineer2):
    set_preference(engineer2, "telegram", min_severity="high")
    medium, _ = create_incident(actor=users["admin"], data={"title": "M", "severity": "medium"})
    high, _ = create_incident(actor=users["admin"], data={"title": "H", "severity": "high"})
    for incident in (medium, high):
        follow(engineer2, incident)
        apply_transition(incident, "start_scoping", actor=users["admin"])
    assert ("engineer2", "telegram") not in routed(latest(medium))
    assert ("engineer2", "telegram") in routed(latest(high))


def test_own_incidents_only_keeps_what_they_command_follow_or_are_assigned(users, engineer2):
    set_preference(engineer2, "telegram", own_incidents_only=True)
    theirs, _ = create_incident(actor=users["admin"], data={"title": "T", "severity": "high"})
    other, _ = create_incident(actor=users["admin"], data={"title": "O", "severity": "high"})
    assert ("engineer2", "telegram") not in routed(latest(theirs))  # a new one is nobody's yet
    assert ("engineer", "telegram") in routed(latest(other))  # the others' choice is untouched
    follow(engineer2, theirs)
    apply_transition(theirs, "start_scoping", actor=users["admin"])
    assert ("engineer2", "telegram") in routed(latest(theirs))


def test_quiet_hours_across_midnight_hold_back_all_but_critical(users, engineer2):
    Profile.objects.update_or_create(user=engineer2, defaults={"time_zone": "Asia/Tehran"})
    set_preference(engineer2, "telegram", quiet_from=dt.time(22), quiet_to=dt.time(7))
    high, _ = create_incident(actor=users["admin"], data={"title": "H", "severity": "high"})
    critical, _ = create_incident(actor=users["admin"], data={"title": "C", "severity": "critical"})
    for night in (at_tehran(23, 30), at_tehran(2), at_tehran(6, 59)):
        assert ("engineer2", "telegram") not in routed(latest(high), night)
        assert ("engineer2", "telegram") in routed(latest(critical), night)
    for day in (at_tehran(7), at_tehran(12), at_tehran(21, 59)):
        assert ("engineer2", "telegram") in routed(latest(high), day)


def test_quiet_hours_end_is_read_in_the_persons_zone():
    pref = Preference("telegram", True, "low", quiet_from=dt.time(22), quiet_to=dt.time(7))
    assert quiet_until(pref, now=at_tehran(23), time_zone="Asia/Tehran") == dt.datetime(
        2026, 3, 2, 7, tzinfo=TEHRAN
    )
    assert quiet_until(pref, now=at_tehran(3), time_zone="Asia/Tehran") == dt.datetime(
        2026, 3, 1, 7, tzinfo=TEHRAN
    )
    # 23:00 in Tehran is 20:30 in London: not quiet there
    assert quiet_until(pref, now=at_tehran(23), time_zone="Europe/London") is None


def test_reminder_in_quiet_hours_waits_for_their_end(users, linked):
    lawyer = users["legal"]
    Profile.objects.update_or_create(user=lawyer, defaults={"time_zone": "Asia/Tehran"})
    set_preference(lawyer, "telegram", quiet_from=dt.time(22), quiet_to=dt.time(7))
    set_preference(lawyer, "telegram", min_severity="critical")  # reminders ignore it
    ((route, not_before),) = personal_routes(lawyer, reach(), now=at_tehran(23))
    assert route.channel == "telegram" and not_before == dt.datetime(2026, 3, 2, 7, tzinfo=TEHRAN)


def test_escalation_reaches_exactly_the_people_it_names_through_quiet_hours(users, engineer2):
    set_preference(engineer2, "telegram", quiet_from=dt.time(0), quiet_to=dt.time(23, 59))
    set_preference(engineer2, "telegram", min_severity="critical", own_incidents_only=True)
    incident, _ = create_incident(actor=users["admin"], data={"title": "E", "severity": "high"})
    with changing(incident) as locked:
        event = append_event(
            locked, ESCALATED, actor=None, data={"level": 1, "notify": [engineer2.pk]}
        )
    assert routed(event) == {("engineer2", "telegram")}


def test_escalation_without_names_goes_to_admins_and_executives(users, linked):
    incident, _ = create_incident(
        actor=users["engineer"], data={"title": "E", "severity": "critical"}
    )
    with changing(incident) as locked:
        event = append_event(locked, ESCALATED, actor=None, data={"level": 1})
    assert routed(event) == {("admin", "telegram"), ("executive", "telegram")}


def test_disabled_channel_gets_nothing_but_other_channels_still_do(users, engineer2, settings):
    settings.EMAIL_ALERTS = True
    engineer2.email = "e2@corp.example"
    engineer2.save()
    set_preference(engineer2, "telegram", enabled=False)
    incident, _ = create_incident(actor=users["admin"], data={"title": "C", "severity": "critical"})
    assert {r for r in routed(latest(incident)) if r[0] == "engineer2"} == {("engineer2", "email")}


@pytest.mark.parametrize("people", [5, 40])
def test_routing_a_batch_reads_links_and_preferences_once(
    users, django_assert_max_num_queries, people
):
    from tests.notifier.conftest import link

    for n in range(people):
        user = make_user(f"eng{n}", "engineer")
        link(user, 70_000 + n)
        set_preference(user, "telegram", min_severity="medium")
    for n in range(10):
        create_incident(actor=users["admin"], data={"title": f"I{n}", "severity": "high"})
    with django_assert_max_num_queries(60) as queries:
        assert derive_deliveries() == 10 * people
    # The same reads for 5 people and for 40: per batch, none per person or per event (the
    # writes are one bulk insert, which SQLite splits by its limit on variables).
    reads = [q for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(reads) <= 12, [q["sql"][:80] for q in reads]


# --- the API -----------------------------------------------------------------------------------


def channels(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["channel"]: c for c in body["channels"]}


def test_api_shows_each_channels_defaults_and_reach(api, linked, settings):
    settings.EMAIL_ALERTS = True
    settings.LANGUAGE_CODE = "en"  # the details' words, as an English reader gets them
    body = api("engineer").get("/api/me/alert-preferences/").json()
    got = channels(body)
    assert list(got) == ["telegram", "bale", "email"]
    assert got["telegram"]["reachable"] and got["telegram"]["min_severity"] == "low"
    assert not got["bale"]["reachable"] and got["bale"]["detail"] == "not linked"
    assert not got["email"]["reachable"] and got["email"]["min_severity"] == "critical"
    assert not any(c["customized"] for c in body["channels"])


def test_api_changes_one_channel_and_keeps_the_rest(api, users):
    response = api("engineer").put(
        "/api/me/alert-preferences/",
        {"email": {"min_severity": "high", "quiet_from": "22:30", "quiet_to": "06:00"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    email = channels(response.json())["email"]
    assert email["customized"] and email["min_severity"] == "high"
    assert (email["quiet_from"], email["quiet_to"]) == ("22:30", "06:00")
    row = AlertPreference.objects.get(user=users["engineer"], channel="email")
    assert row.enabled and row.quiet_to == dt.time(6)
    assert not AlertPreference.objects.filter(channel="telegram").exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"sms": {"enabled": True}}, "sms"),
        ({"telegram": {"min_severity": "apocalyptic"}}, "telegram"),
        ({"telegram": {"quiet_from": "22:00"}}, "telegram"),
        ({"telegram": {"quiet_from": "22:00", "quiet_to": "22:00"}}, "telegram"),
        ({"bale": {"quiet_from": "25:99", "quiet_to": "07:00"}}, "bale"),
        ({"email": {"enabled": "perhaps"}}, "email"),
        ({"email": "yes"}, "email"),
    ],
)
def test_api_refuses_bad_preferences_with_a_clear_400(api, users, body, field):
    response = api("engineer").put("/api/me/alert-preferences/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not AlertPreference.objects.exists()


def test_api_refuses_a_body_that_is_not_an_object_or_names_no_channel(api):
    for body in ([1, 2], {}):
        response = api("engineer").put("/api/me/alert-preferences/", body, format="json")
        assert response.status_code == 400, response.content


def test_api_needs_a_signed_in_person(db):
    assert client_for(None).get("/api/me/alert-preferences/").status_code in (401, 403)
    response = client_for(None).put("/api/me/alert-preferences/", {}, format="json")
    assert response.status_code in (401, 403)


# --- the page ----------------------------------------------------------------------------------


def test_page_shows_every_channel_and_saves_a_choice(client, users, linked):
    client.force_login(users["engineer"])
    page = client.get("/profile/alerts/")
    assert page.status_code == 200
    html = page.content.decode()
    assert all(f'id="channel-{c}"' in html for c in ("telegram", "bale", "email"))
    form = {
        "telegram-enabled": "on",
        "telegram-min_severity": "medium",
        "telegram-quiet_from": "23:00",
        "telegram-quiet_to": "07:00",
        "bale-enabled": "on",
        "bale-min_severity": "low",
        "email-min_severity": "critical",  # email unchecked: off
    }
    response = client.post("/profile/alerts/", form)
    assert response.status_code == 302
    rows = {r.channel: r for r in AlertPreference.objects.filter(user=users["engineer"])}
    assert rows["telegram"].min_severity == "medium" and rows["telegram"].quiet_from == dt.time(23)
    assert not rows["email"].enabled


def test_page_refuses_half_quiet_hours_and_saves_nothing(client, users, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(users["engineer"])
    form = {
        "telegram-min_severity": "low",
        "telegram-quiet_from": "23:00",
        "bale-min_severity": "low",
        "email-min_severity": "critical",
    }
    response = client.post("/profile/alerts/", form)
    assert response.status_code == 400
    assert "quiet hours" in response.content.decode()
    assert not AlertPreference.objects.exists()


def test_page_needs_a_signed_in_person(client, db):
    response = client.get("/profile/alerts/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_email_rows_go_to_email_and_keys_name_the_channel(users, linked, settings):
    settings.EMAIL_ALERTS = True
    users["executive"].email = "exec@corp.example"
    users["executive"].save()
    incident, _ = create_incident(actor=users["admin"], data={"title": "C", "severity": "critical"})
    derive_deliveries()
    seq = latest(incident).seq
    email = Delivery.objects.get(channel="email")
    assert email.key == f"event:{seq}:email:{users['executive'].pk}" and email.chat_id is None
    assert Delivery.objects.filter(key=f"event:{seq}:1003", channel="telegram").exists()


def test_personal_message_goes_to_each_channel_left_on_and_waits_out_quiet_hours(
    users, linked, settings
):
    settings.EMAIL_ALERTS = True
    person = users["engineer"]
    person.email = "eng@corp.example"
    person.save()
    set_preference(person, "email", min_severity="critical")  # not a filter for these
    now = timezone.now()
    start = (now - dt.timedelta(hours=1)).astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE))
    end = (now + dt.timedelta(hours=2)).astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE))
    set_preference(person, "telegram", quiet_from=start.time(), quiet_to=end.time())

    def build(language: str, channel: str) -> tuple[str, str, None]:
        return ("Shift", f"your shift ({channel}, {language})", None)

    assert enqueue_personal(person, kind="shift", key="shift:1", build=build) == 2
    rows = {d.channel: d for d in Delivery.objects.filter(kind="shift")}
    assert set(rows) == {"telegram", "email"}
    assert rows["email"].next_attempt_at <= timezone.now()
    assert rows["telegram"].next_attempt_at > now + dt.timedelta(hours=1)
    set_preference(person, "email", enabled=False)
    assert enqueue_personal(person, kind="shift", key="shift:2", build=build) == 1
