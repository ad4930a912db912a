"""The incident page's design (issue 20, section 4): a main column and a side rail, relative
times with the exact moment at hand, confirmations for destructive steps, the primary
"Declare incident" way in, and the Persian details (directions, commas, decimal separators)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from incidents.legal.obligations import seed_rules
from tests.frontend.helpers import browser


def page(user, incident, language: str = "en") -> str:
    client = browser(user, HTTP_ACCEPT_LANGUAGE=language)
    return client.get(f"/incidents/{incident.reference}/").content.decode()


def render(source: str, **context) -> str:
    return Template("{% load frontend_tags %}" + source).render(Context(context))


def test_the_page_has_a_main_column_with_the_next_step_first_and_a_side_rail(users, incident_in):
    html = page(users["engineer"], incident_in("scoping"))
    main, rail = html.split('<div class="main-col">')[1].split('<div class="rail">')
    assert main.index('id="h-actions"') < main.index('id="timeline"')
    for heading in ("h-summary", "h-scope", "h-access", "h-deadlines", "h-evidence"):
        assert f'id="{heading}"' in rail, heading


def test_a_relative_time_carries_the_exact_moment_for_hover_and_focus():
    moment = timezone.now() - dt.timedelta(minutes=12)
    with translation.override("en"), timezone.override("UTC"):
        html = render("{{ at|ago }}", at=moment)
    assert ">12\xa0minutes ago</time>" in html  # a number never parts from its unit
    assert f'datetime="{moment.isoformat()}"' in html and 'tabindex="0"' in html
    assert f'title="{moment:%Y-%m-%d %H:%M}"' in html
    with translation.override("fa"), timezone.override("Asia/Tehran"):
        persian = render("{{ at|ago }}", at=moment)
    assert "۱۲ دقیقه پیش" in persian and re.search(r'title="۱۴[۰-۹]{2}/', persian)


def test_a_deadline_counts_down_with_both_sentences_for_the_browser_to_tick():
    now = timezone.now()
    with translation.override("en"):
        html = render("{{ due|due:now }}", due=now + dt.timedelta(hours=5, minutes=20), now=now)
    assert ">in 5 hours 20 minutes</time>" in html
    assert 'data-future="in {}"' in html and 'data-past="{} overdue"' in html


def test_lists_are_joined_with_the_readers_comma_and_numbers_with_its_decimal_separator():
    with translation.override("fa"):
        assert render("{{ xs|join_local }}", xs=["a", "b"]) == "a، b"
        assert render("{{ n|number }}", n=12.5) == "۱۲٫۵"
    with translation.override("en"):
        assert render("{{ xs|join_local }}", xs=["a", "b"]) == "a, b"
        assert render("{{ n|number }}", n=12.5) == "12.5"


def test_every_text_box_and_text_area_takes_its_direction_from_what_is_typed(users, incident_in):
    seed_rules()
    html = page(users["admin"], incident_in("restoring"))
    boxes = re.findall(r"<textarea[^>]*>|<input[^>]*>", html)
    typed = [b for b in boxes if b.startswith("<textarea") or 'type="text"' in b]
    assert typed
    for box in typed:
        assert "dir=" in box, box


def test_every_label_points_at_one_field_of_its_own(users, incident_in):
    html = page(users["admin"], incident_in("restoring"))
    ids = re.findall(r'\sid="([^"]+)"', html)
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, duplicates
    for target in re.findall(r'<label for="([^"]+)"', html):
        assert f'id="{target}"' in html, target


@pytest.mark.parametrize("path", ["/", "/incidents/"])
def test_those_who_log_incidents_see_a_primary_declare_incident_action(users, path):
    engineer = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en").get(path).content.decode()
    assert re.search(
        r'<a class="button primary" href="/incidents/new/"[^>]*>Declare incident', engineer
    )
    executive = browser(users["executive"]).get(path).content.decode()
    assert 'id="declare-incident"' not in executive


def test_the_declare_page_holds_the_form_and_one_heading(users):
    html = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en").get("/incidents/new/")
    text = html.content.decode()
    assert html.status_code == 200 and text.count("<h1") == 1
    assert 'action="/incidents/new/"' in text and 'name="title"' in text
    assert browser(users["executive"]).get("/incidents/new/").status_code == 403


def test_dismiss_asks_in_a_dialog_whose_button_sends_the_same_form(users, incident_in):
    html = page(users["engineer"], incident_in("detected"))
    form = html.split('id="action-dismiss"')[1].split("</form>")[0]
    assert 'data-confirm="confirm-dismiss"' in form
    dialog = form.split('<dialog class="confirm" id="confirm-dismiss"')[1].split("</dialog>")[0]
    assert '<button type="submit" class="danger" name="transition" value="dismiss">' in dialog
    assert "confirm.js" in html
    assert not re.search(r"\son[a-z]+=", html)  # strict CSP: the script is a file


def test_deadlines_are_compact_rows_with_one_menu_and_fields_labelled_by_purpose(
    users, incident_in
):
    seed_rules()
    html = page(users["legal"], incident_in("restoring"))
    deadlines = html.split('id="obligations"')[1].split("</ul>")[0]
    rows = deadlines.count('<li class="row')
    assert rows and deadlines.count('<details class="menu">') == rows
    assert deadlines.count("How it was fulfilled (note)") == rows
    assert deadlines.count("Why it is not required") == rows
    assert ">Note<" not in deadlines
    assert deadlines.count('data-confirm="confirm-obligations-waive-') == rows


def test_withdrawing_a_referral_asks_first(users, incident_in):
    html = page(users["legal"], incident_in("referred"))
    referrals = html.split('id="referrals"')[1].split("</ul>")[0]
    assert re.search(r'data-confirm="confirm-referrals-withdraw-\d+"', referrals)
    assert "Why the referral is withdrawn" in referrals


def test_the_page_shows_no_internal_version_number(users, incident_in):
    html = page(users["engineer"], incident_in("scoping"))
    shown = re.sub(r"<[^>]+>", " ", html.split('<main id="main">')[1])
    assert not re.search(r"\bversion\b", shown, re.I)
    assert 'name="version"' in html  # the forms still carry it


def test_the_lifecycle_diagram_scrolls_in_a_focusable_named_region(users, incident_in):
    html = page(users["engineer"], incident_in("scoping"))
    region = r'<div class="scroll" tabindex="0" role="region" aria-label="[^"]+">'
    assert re.search(region + r'\s*<svg class="lifecycle"', html)


def test_the_time_zone_picker_is_grouped_by_region_and_searchable(users):
    html = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en").get("/profile/").content.decode()
    select = html.split('name="time_zone"')[1].split("</select>")[0]
    assert '<optgroup label="Asia">' in select and '<optgroup label="Europe">' in select
    assert re.search(r'<option value="Asia/Tehran"[^>]*>Tehran \(UTC\+03:30\)</option>', select)
    assert 'id="zone-search"' in html and "zone_filter.js" in html


@pytest.mark.parametrize("path", ["/", "/incidents/", "/incidents/new/", "/profile/", "/login/"])
def test_every_page_has_exactly_one_h1(users, path):
    client = browser(None if path == "/login/" else users["engineer"])
    assert client.get(path).content.decode().count("<h1") == 1
