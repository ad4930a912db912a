"""The on-call page: rotations with who is on call now and next, four weeks of shifts in the
reader's calendar, the overrides; members take or swap a shift (recorded, both people told on
their channels); readers see it read-only; the dashboard's "On call now" block."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from notifier.linking import issue_link_token, link_chat
from notifier.models import Delivery, Rotation, RotationOverride
from notifier.oncall import Schedule
from tests.conftest import make_user
from tests.frontend.helpers import browser
from tests.notifier.oncall_helpers import rotation


@pytest.fixture
def crew(users, settings):
    settings.EMAIL_ALERTS = True
    settings.LANGUAGE_CODE = "en"  # people are told in English unless a profile says otherwise
    settings.PUBLIC_BASE_URL = "https://desk.example.com"
    people = [users["engineer"], make_user("bahar", "engineer"), make_user("cyrus", "engineer")]
    for person in people:
        person.email = f"{person.username}@staff.example.com"
        person.save()
    token, _ = issue_link_token(people[1])
    link_chat(token, account_id=7001, chat_id=7001, username="bahar")
    return people


@pytest.fixture
def infra(crew):
    """Weekly shifts from five weeks ago: the engineer, Bahar, Cyrus, then round again."""
    start = timezone.localdate() - dt.timedelta(weeks=5)
    return rotation("infra", crew, starts_on=start)


def schedule_of(rot: Rotation) -> Schedule:
    return Schedule.of(Rotation.objects.with_schedule(timezone.now()).get(pk=rot.pk))


def next_shift_of(rot: Rotation, username: str):
    """The first shift after the running one that ``username`` holds."""
    schedule = schedule_of(rot)
    index = schedule.index_at(timezone.now()) + 1
    while schedule.shift(index).user.username != username:
        index += 1
    return schedule.shift(index)


def told(kind: str) -> list[tuple[str, str]]:
    rows = Delivery.objects.filter(kind=kind).select_related("user")
    return sorted((row.user.username, row.channel) for row in rows)


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_page_shows_who_is_on_call_now_next_and_four_weeks_of_shifts(users, infra, language):
    html = browser(users["executive"], HTTP_ACCEPT_LANGUAGE=language).get("/oncall/")
    assert html.status_code == 200
    page = html.content.decode()
    schedule = schedule_of(infra)
    now = schedule.on_call(timezone.now()).username
    assert re.search(rf'class="now"><b>{now}</b>', page)
    assert page.count('<tr class="shift') in (4, 5)
    start = schedule.shift_at(timezone.now()).starts_at.astimezone(schedule.zone)
    if language == "fa":
        assert 'dir="rtl"' in page
        assert "۱۴۰" in page  # Jalali years 140x, in Persian digits
        assert start.strftime("%Y-%m-%d %H:%M") not in page
    else:
        assert start.strftime("%Y-%m-%d %H:%M") in page
    # Executives read: no form to change anything.
    assert 'class="take"' not in page and 'class="swap"' not in page


def test_an_engineer_takes_a_shift_recorded_and_both_told(users, crew, infra):
    shift = next_shift_of(infra, "bahar")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/oncall/").content.decode()
    assert f'value="{shift.starts_at.isoformat()}"' in page
    answer = client.post(
        f"/oncall/{infra.pk}/take/",
        {"shift": shift.starts_at.isoformat(), "reason": "Bahar is on leave"},
        follow=True,
    )
    assert answer.redirect_chain[0] == ("/oncall/", 303)
    assert "The shift is yours" in answer.content.decode()
    override = RotationOverride.objects.get()
    assert (override.user, override.replaced, override.created_by) == (
        users["engineer"],
        crew[1],
        users["engineer"],
    )
    assert (override.starts_at, override.ends_at) == (shift.starts_at, shift.ends_at)
    assert override.reason == "Bahar is on leave"
    assert schedule_of(infra).on_call(shift.starts_at) == users["engineer"]
    assert told("shift.taken") == [
        ("bahar", "email"),
        ("bahar", "telegram"),
        ("engineer", "email"),
    ]
    chat = Delivery.objects.get(kind="shift.taken", channel="telegram")
    assert "On-call shift taken" in chat.text and "engineer" in chat.text
    assert "You are no longer on call" in chat.text
    mail = Delivery.objects.get(kind="shift.taken", channel="email", user=crew[1])
    assert mail.subject == "On-call shift taken: infra" and "<b>" not in mail.text


def test_an_engineer_swaps_a_shift_recorded_and_both_told(users, crew, infra):
    mine, theirs = next_shift_of(infra, "engineer"), next_shift_of(infra, "cyrus")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    answer = client.post(
        f"/oncall/{infra.pk}/swap/",
        {"mine": mine.starts_at.isoformat(), "shift": theirs.starts_at.isoformat()},
        follow=True,
    )
    assert "The shifts are swapped" in answer.content.decode()
    schedule = schedule_of(infra)
    assert schedule.on_call(mine.starts_at).username == "cyrus"
    assert schedule.on_call(theirs.starts_at).username == "engineer"
    records = {(o.user.username, o.replaced.username) for o in RotationOverride.objects.all()}
    assert records == {("cyrus", "engineer"), ("engineer", "cyrus")}
    assert told("shift.swapped") == [("cyrus", "email"), ("engineer", "email")]


def test_a_persian_reader_is_told_in_persian_with_jalali_dates(users, crew, infra):
    from core.models import Profile

    Profile.objects.update_or_create(user=crew[1], defaults={"language": "fa"})
    shift = next_shift_of(infra, "bahar")
    browser(users["engineer"]).post(
        f"/oncall/{infra.pk}/take/", {"shift": shift.starts_at.isoformat()}
    )
    chat = Delivery.objects.get(kind="shift.taken", channel="telegram")
    # The catalogue's words (new ones are translated when the catalogues are regenerated).
    assert "By:" not in chat.text
    assert "۱۴۰" in chat.text  # Jalali dates in Persian digits


@pytest.mark.parametrize("role", ["executive", "legal"])
def test_readers_and_legal_may_not_take_shifts(users, infra, role):
    shift = next_shift_of(infra, "bahar")
    answer = browser(users[role]).post(
        f"/oncall/{infra.pk}/take/", {"shift": shift.starts_at.isoformat()}
    )
    assert answer.status_code == 403
    assert not RotationOverride.objects.exists() and not Delivery.objects.exists()


def test_an_engineer_outside_the_rotation_may_not_take_its_shifts(users, infra):
    outsider = make_user("dara", "engineer")
    shift = next_shift_of(infra, "bahar")
    page = browser(outsider).get("/oncall/").content.decode()
    assert 'class="take"' not in page
    answer = browser(outsider).post(
        f"/oncall/{infra.pk}/take/", {"shift": shift.starts_at.isoformat()}
    )
    assert answer.status_code == 403
    assert not RotationOverride.objects.exists()


def test_a_past_shift_or_a_moment_that_starts_no_shift_is_refused_with_a_message(users, infra):
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    past = schedule_of(infra).shift(1).starts_at.isoformat()
    answer = client.post(f"/oncall/{infra.pk}/take/", {"shift": past}, follow=True)
    assert "This shift is over." in answer.content.decode()
    for bad in ("2026-13-45", "", "yesterday", timezone.now().isoformat()):
        answer = client.post(f"/oncall/{infra.pk}/take/", {"shift": bad}, follow=True)
        assert answer.status_code == 200
        assert "No shift of this rotation starts at that moment." in answer.content.decode()
    assert client.post("/oncall/999999/take/", {"shift": past}).status_code == 404
    assert not RotationOverride.objects.exists()


def test_taking_a_shift_you_hold_or_swapping_what_you_do_not_hold_is_refused(users, infra):
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    mine, bahars = next_shift_of(infra, "engineer"), next_shift_of(infra, "bahar")
    cyrus = next_shift_of(infra, "cyrus")
    answer = client.post(
        f"/oncall/{infra.pk}/take/", {"shift": mine.starts_at.isoformat()}, follow=True
    )
    assert "You are already on call for this whole shift." in answer.content.decode()
    answer = client.post(
        f"/oncall/{infra.pk}/swap/",
        {"mine": bahars.starts_at.isoformat(), "shift": cyrus.starts_at.isoformat()},
        follow=True,
    )
    assert "You can only swap a shift you hold." in answer.content.decode()
    assert not RotationOverride.objects.exists()


def test_a_get_of_a_form_address_goes_to_the_page(users, infra):
    answer = browser(users["engineer"]).get(f"/oncall/{infra.pk}/take/")
    assert answer.status_code == 302 and answer["Location"] == "/oncall/"


def test_someone_without_a_role_is_refused_the_page(users, infra):
    assert browser(users["norole"]).get("/oncall/").status_code == 403


def test_the_dashboard_says_who_is_on_call_now_in_one_query(users, crew, django_assert_num_queries):
    from notifier.oncall import on_call_brief

    start = timezone.localdate() - dt.timedelta(days=3)
    counted = []
    for n in (2, 12):
        while Rotation.objects.count() < n:
            made = rotation(f"r{Rotation.objects.count()}", crew, starts_on=start)
            RotationOverride.objects.create(
                rotation=made,
                user=crew[2],
                starts_at=timezone.now() - dt.timedelta(hours=1),
                ends_at=timezone.now() + dt.timedelta(hours=1),
            )
        with django_assert_num_queries(1) as queries:
            brief = on_call_brief()
        assert len(brief) == n and {b.username for b in brief} == {"cyrus"}
        counted.append(len(queries.captured_queries))
        page = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
        block = page.split('id="on-call-now"')[1].split("</section>")[0]
        assert block.count("<li>") == n and "<b>cyrus</b>" in block
    assert counted[0] == counted[1]


def test_the_page_costs_the_same_queries_for_2_or_10_rotations(
    users, crew, django_assert_max_num_queries
):
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    start = timezone.localdate() - dt.timedelta(days=10)
    counted = []
    for n in (2, 10):
        while Rotation.objects.count() < n:
            made = rotation(f"r{Rotation.objects.count():02}", crew, starts_on=start)
            RotationOverride.objects.create(
                rotation=made,
                user=crew[2],
                replaced=crew[0],
                created_by=crew[2],
                starts_at=timezone.now() + dt.timedelta(days=1),
                ends_at=timezone.now() + dt.timedelta(days=2),
            )
        client.get("/oncall/")  # the session's first reads
        with django_assert_max_num_queries(20) as served:
            page = client.get("/oncall/").content.decode()
        assert page.count('class="card rotation"') == n
        counted.append(len(served.captured_queries))
    assert counted[0] == counted[1]
