"""The incident page writes only through the domain functions, with versions and clear refusals."""

from __future__ import annotations

import re

import pytest

from incidents.lifecycle import apply_transition
from incidents.models import Event, Incident
from tests.conftest import complete_required_tasks
from tests.frontend.helpers import browser, shown_again


def scope_post(version: int, **extra: object) -> dict:
    return {
        "version": version,
        "attack_vector": "phishing",
        "source_details": "mail",
        "affected_systems": "shop-db\ncrm | provider",
        "data_categories": ["contact", "identity"],
        "affected_subjects_estimate": "250",
        **extra,
    }


def test_engineer_scopes_from_the_page_and_an_event_is_appended(users, incident_in):
    incident = incident_in("scoping")
    before = Event.objects.count()
    response = browser(users["engineer"]).post(
        f"/incidents/{incident.reference}/edit/scope/", scope_post(incident.version)
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.affected_systems == [
        {"name": "shop-db", "hosting": "own"},
        {"name": "crm", "hosting": "provider"},
    ]
    assert incident.data_categories == ["contact", "identity"]
    assert incident.affected_subjects_estimate == 250
    assert Event.objects.count() == before + 1
    assert Event.objects.latest("seq").kind == "updated"


def test_page_shows_data_categories_by_their_plain_names(users, incident_in):
    incident = incident_in("restoring")
    html = (
        browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
        .get(f"/incidents/{incident.reference}/")
        .content.decode()
    )
    assert "Contact (mobile number, email)" in html and "Identity (names)" in html


def test_second_editor_with_an_old_version_is_told_to_reload(users, incident_in):
    incident = incident_in("scoping")
    seen = incident.version
    first = browser(users["engineer"]).post(
        f"/incidents/{incident.reference}/edit/scope/", scope_post(seen)
    )
    assert first.status_code == 302
    second = browser(users["admin"], HTTP_ACCEPT_LANGUAGE="en").post(
        f"/incidents/{incident.reference}/edit/scope/",
        scope_post(seen, affected_subjects_estimate="9"),
        follow=True,
    )
    shown_again(second)
    html = second.content.decode()
    assert "Someone else changed this incident" in html
    incident.refresh_from_db()
    assert incident.affected_subjects_estimate == 250
    # What the second editor typed is kept, open, on the current version: sending it again is
    # a choice made with the first change in view, and it goes through.
    scope = html.split('action="/incidents/' + incident.reference + '/edit/scope/"')[1]
    scope = scope.split("</form>")[0]
    assert 'name="affected_subjects_estimate" value="9"' in scope
    assert f'name="version" value="{incident.version}"' in scope
    assert "<details open><summary>Edit scope" in html
    again = browser(users["admin"]).post(
        f"/incidents/{incident.reference}/edit/scope/",
        scope_post(incident.version, affected_subjects_estimate="9"),
    )
    assert again.status_code == 302
    incident.refresh_from_db()
    assert incident.affected_subjects_estimate == 9


def test_a_stale_transition_is_refused(users, incident_in):
    incident = incident_in("detected")
    client = browser(users["engineer"])
    client.post(
        f"/incidents/{incident.reference}/transitions/start_scoping/", {"version": incident.version}
    )
    stale = client.post(
        f"/incidents/{incident.reference}/transitions/dismiss/",
        {"version": incident.version, "reason": "duplicate"},
        follow=True,
    )
    shown_again(stale)
    assert Incident.objects.get(pk=incident.pk).state == "scoping"


def test_button_with_missing_requirement_says_what_is_missing(users, incident_in):
    incident = incident_in("scoping")
    html = (
        browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
        .get(f"/incidents/{incident.reference}/")
        .content.decode()
    )
    block = html.split('id="action-start_restoration"')[1].split("</div>")[0]
    assert "disabled" in block
    assert "attack vector" in block and "affected systems" in block
    assert "affected-people estimate" in block


def test_engineer_runs_a_transition_from_the_page(users, incident_in):
    incident = incident_in("restoring")
    complete_required_tasks(incident, users["engineer"], second=users["admin"])
    incident.refresh_from_db()
    response = browser(users["engineer"]).post(
        f"/incidents/{incident.reference}/transitions/mark_restored/",
        {"version": incident.version, "restoration_summary": "Keys rotated."},
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.state == "restored" and incident.restoration_summary == "Keys rotated."


def test_legal_refers_with_a_referral_from_the_page(users, incident_in):
    incident = incident_in("restored", detected_at="2026-03-01T06:00:00Z")
    response = browser(users["legal"]).post(
        f"/incidents/{incident.reference}/transitions/refer/",
        {
            "version": incident.version,
            "authority": "cyber_police",
            "submitted_at": "2026-03-01T10:00",
            "case_number": "F-1",
        },
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.state == "referred"
    assert incident.referrals.get().case_number == "F-1"


def test_a_referral_submitted_before_the_detection_is_refused_on_the_page(users, incident_in):
    incident = incident_in("restored", detected_at="2026-03-01T08:00:00Z")  # 11:30 in Tehran
    response = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en").post(
        f"/incidents/{incident.reference}/transitions/refer/",
        {
            "version": incident.version,
            "authority": "cyber_police",
            "submitted_at": "2026-03-01T10:00",
        },
        follow=True,
    )
    shown_again(response)
    assert (
        "submission time: May not be before detection time (2026-03-01 11:30)."
        in response.content.decode()
    )
    incident.refresh_from_db()
    assert incident.state == "restored" and not incident.referrals.exists()


def test_missing_transition_input_is_named_on_the_page(users, incident_in):
    incident = incident_in("scoping")
    response = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en").post(
        f"/incidents/{incident.reference}/transitions/dismiss/",
        {"version": incident.version},
        follow=True,
    )
    shown_again(response)
    assert "Still missing: reason" in response.content.decode()


@pytest.mark.parametrize(
    "post",
    [
        {"affected_subjects_estimate": "-3"},
        {"affected_subjects_estimate": "lots"},
        {"affected_systems": "db | cloud"},
        {"data_categories": ["bogus"]},
        {"attack_vector": "telepathy"},
        {"version": "abc"},
    ],
)
def test_bad_form_input_is_shown_again_not_a_500(users, incident_in, post):
    incident = incident_in("scoping")
    response = browser(users["engineer"]).post(
        f"/incidents/{incident.reference}/edit/scope/",
        {**scope_post(incident.version), **post},
        follow=True,
    )
    shown_again(response)
    assert Event.objects.filter(incident=incident).count() == 2


def test_unknown_section_transition_and_incident_are_404(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["engineer"])
    assert client.post(f"/incidents/{incident.reference}/edit/state/", {}).status_code == 404
    assert (
        client.post(
            f"/incidents/{incident.reference}/transitions/explode/", {"version": 1}
        ).status_code
        == 404
    )
    assert client.get("/incidents/INC-1999-0001/").status_code == 404


def test_closed_incident_cannot_be_edited_from_the_page(users, incident_in):
    incident = incident_in("closed")
    response = browser(users["admin"]).post(
        f"/incidents/{incident.reference}/edit/summary/",
        {"version": incident.version, "title": "new", "severity": "low"},
        follow=True,
    )
    shown_again(response)


def test_engineer_logs_a_new_incident_from_the_list(users):
    response = browser(users["engineer"]).post(
        "/incidents/new/", {"title": "Leaked API key", "severity": "critical"}
    )
    assert response.status_code == 302
    incident = Incident.objects.get(title="Leaked API key")
    assert response.headers["Location"] == f"/incidents/{incident.reference}/"
    assert incident.events.get().kind == "created"


def test_an_invalid_new_incident_is_shown_again_on_its_page(users):
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/incidents/new/", {"title": "", "severity": "x"}, follow=True)
    assert response.redirect_chain == [("/incidents/new/#error-summary", 303)]
    html = shown_again(response)
    assert 'id="error-summary"' in html and '<a href="#id_title">' in html
    assert not Incident.objects.exists()


def test_lifecycle_picture_is_generated_and_highlights_the_current_state(users, incident_in):
    from incidents.lifecycle import INCIDENT

    incident = incident_in("restoring")
    html = browser(users["executive"]).get(f"/incidents/{incident.reference}/").content.decode()
    svg = html.split('<svg class="lifecycle"')[1].split("</svg>")[0]
    assert svg.count('class="edge"') == len(INCIDENT.transitions())
    assert svg.count('class="node') == 7
    assert 'class="node current" data-state="restoring"' in svg


def test_timeline_lists_every_event(users, incident_in):
    incident = incident_in("restored")
    html = browser(users["executive"]).get(f"/incidents/{incident.reference}/").content.decode()
    timeline = html.split('id="timeline"')[1].split("</ol>")[0]
    assert timeline.count("<li") == incident.events.count()


def timeline_of(html: str) -> str:
    return html.split('id="timeline"')[1].split("</ol>")[0]


def test_engineer_adds_a_note_from_the_page_and_reads_it_on_the_timeline(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["engineer"])
    text = "ایمیل فیشینگ ساعت ۰۲:۱۴ رسید.\n<b>three</b> mailboxes"
    response = client.post(f"/incidents/{incident.reference}/notes/", {"text": text})
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.reference}/#timeline"
    note = Event.objects.latest("seq")
    assert (note.kind, note.data, note.actor_username) == ("note", {"text": text}, "engineer")
    timeline = timeline_of(client.get(f"/incidents/{incident.reference}/").content.decode())
    assert "ایمیل فیشینگ ساعت ۰۲:۱۴ رسید.\n&lt;b&gt;three&lt;/b&gt; mailboxes" in timeline
    assert "<b>three</b>" not in timeline


def test_a_blank_note_is_refused_keeping_the_form_open(users, incident_in):
    incident = incident_in("scoping")
    before = Event.objects.count()
    response = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en").post(
        f"/incidents/{incident.reference}/notes/", {"text": "   "}, follow=True
    )
    shown_again(response)
    html = response.content.decode()
    assert "This field is required." in html
    assert "<details open><summary>Add a note" in html
    assert Event.objects.count() == before


def test_executive_sees_notes_but_no_note_form_and_a_post_is_403(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    html = client.get(f"/incidents/{incident.reference}/").content.decode()
    assert "Add a note" not in html
    response = client.post(f"/incidents/{incident.reference}/notes/", {"text": "hello"})
    assert response.status_code == 403
    assert not Event.objects.filter(kind="note").exists()


def test_persian_timeline_names_every_kind_of_event_in_persian(users, incident_in):
    """Referral, acknowledgement and note events used to show their machine names."""
    from incidents.acknowledgements import acknowledge
    from incidents.legal.referrals import apply_referral_transition, create_referral
    from incidents.notes import add_note

    incident = incident_in("detected")
    acknowledge(incident, users["admin"])
    add_note(incident, actor=users["engineer"], text="first look")
    for name, payload, role in [
        ("start_scoping", {}, "engineer"),
        ("dismiss", {"reason": "r"}, "engineer"),
        ("reopen", {"reason": "r"}, "engineer"),
    ]:
        incident, _ = apply_transition(incident, name, actor=users[role], payload=payload)
    referral, _ = create_referral(
        incident, actor=users["legal"], data={"authority": "cyber_police"}
    )
    apply_referral_transition(referral, "submit", actor=users["legal"])
    html = browser(users["executive"]).get(f"/incidents/{incident.reference}/").content.decode()
    labels = re.findall(r"<strong>([^<]*)</strong>", timeline_of(html))
    assert len(labels) == incident.events.count()
    assert all(not re.search(r"[A-Za-z_]", label) for label in labels), labels


def test_engineer_logs_a_breach_found_earlier_with_both_moments_in_their_zone(users):
    response = browser(users["engineer"]).post(
        "/incidents/new/",
        {
            "title": "Backups readable",
            "severity": "high",
            "detected_at": "2026-11-24T02:10",
            "aware_at": "2026-11-24T03:00",
        },
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    # Asia/Tehran is UTC+03:30: the moments are read in the user's zone.
    assert incident.detected_at.isoformat() == "2026-11-23T22:40:00+00:00"
    assert incident.aware_at.isoformat() == "2026-11-23T23:30:00+00:00"


@pytest.mark.parametrize(
    ("moments", "field"),
    [
        ({"detected_at": "2026-11-24T02:10", "aware_at": "2026-11-24T01:00"}, "aware_at"),
        ({"detected_at": "2999-01-01T00:00"}, "detected_at"),
        ({"detected_at": "1999-12-31T00:00"}, "detected_at"),
        ({"detected_at": "yesterday"}, "detected_at"),
    ],
)
def test_moments_the_domain_refuses_are_shown_on_the_field_keeping_the_input(users, moments, field):
    response = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en").post(
        "/incidents/new/", {"title": "Kept title", "severity": "high", **moments}, follow=True
    )
    shown_again(response)
    html = response.content.decode()
    invalid = html.split(f'for="id_{field}"')[0].rsplit('<div class="field', 1)[1]
    assert invalid.startswith(" invalid")
    assert 'value="Kept title"' in html
    assert not Incident.objects.exists()


def timing_post(incident: Incident, **fields: str) -> dict:
    moments = {"detected_at": "2026-11-24T02:10", "aware_at": "2026-11-24T02:10"}
    return {"version": incident.version, **moments, **fields}


def test_timing_section_edits_both_moments_and_the_commander(users, incident_in):
    from tests.conftest import make_user

    second = make_user("engineer2", "engineer")
    incident = incident_in("scoping")
    response = browser(users["engineer"]).post(
        f"/incidents/{incident.reference}/edit/timing/",
        timing_post(incident, aware_at="2026-11-24T04:00", commander="engineer2"),
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.commander == second
    assert incident.aware_at.isoformat() == "2026-11-24T00:30:00+00:00"
    changes = Event.objects.latest("seq").data["changes"]
    assert set(changes) >= {"detected_at", "aware_at", "commander"}


def test_timing_refused_by_the_domain_keeps_what_was_typed(users, incident_in):
    incident = incident_in("scoping")
    before = incident.version
    response = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en").post(
        f"/incidents/{incident.reference}/edit/timing/",
        {"version": before, "detected_at": "2026-11-24T02:10", "aware_at": "2026-11-23T02:10"},
        follow=True,
    )
    shown_again(response)
    html = response.content.decode()
    assert 'value="2026-11-23T02:10"' in html
    # In the reader's calendar and words, not the API's ISO time and field name.
    assert "May not be before detection time (2026-11-24 02:10)." in html
    incident.refresh_from_db()
    assert incident.version == before


def test_a_legal_user_may_not_be_made_commander(users, incident_in):
    incident = incident_in("scoping")
    response = browser(users["engineer"]).post(
        f"/incidents/{incident.reference}/edit/timing/",
        timing_post(incident, commander="legal"),
        follow=True,
    )
    shown_again(response)
    incident.refresh_from_db()
    assert incident.commander == users["engineer"]


@pytest.mark.parametrize(
    ("path", "page"),
    [
        ("/incidents/REF/transitions/refer/", "/incidents/REF/"),
        ("/incidents/REF/edit/scope/", "/incidents/REF/"),
        ("/incidents/REF/notes/", "/incidents/REF/"),
        ("/incidents/REF/referrals/new/", "/incidents/REF/"),
        ("/incidents/REF/evidence/", "/incidents/REF/"),
        ("/incidents/REF/referrals/1/transitions/conclude/", "/incidents/REF/"),
        ("/profile/telegram/", "/profile/"),
    ],
)
def test_a_get_on_a_form_target_goes_to_the_forms_page_not_a_bare_405(
    users, incident_in, path, page
):
    """A failed form is shown at its target's address; the language switch then comes back
    there with a GET (and so does a reload or a bookmark)."""
    reference = incident_in("restored").reference
    client = browser(users["legal"])
    response = client.get(path.replace("REF", reference))
    assert response.status_code == 302
    assert response["Location"] == page.replace("REF", reference)
    assert client.put(path.replace("REF", reference)).status_code == 405


def test_language_switch_after_a_failed_form_lands_on_the_incident(users, incident_in):
    incident = incident_in("restored")
    client = browser(users["legal"])
    target = f"/incidents/{incident.reference}/transitions/refer/"
    failed = client.post(
        target, {"version": incident.version, "authority": "cyber_police"}, follow=True
    )
    shown_again(failed)
    switched = client.post("/i18n/setlang/", {"language": "en", "next": target}, follow=True)
    assert switched.status_code == 200
    assert switched.redirect_chain[-1][0] == f"/incidents/{incident.reference}/"


@pytest.mark.parametrize("typed", ["۱٬۲۰۰", "١٢٠٠", "1,200", " 1200 "])
def test_a_count_typed_on_a_persian_keyboard_is_read_not_dropped(users, incident_in, typed):
    incident = incident_in("scoping")
    response = browser(users["engineer"]).post(
        f"/incidents/{incident.reference}/edit/scope/",
        scope_post(incident.version, affected_subjects_estimate=typed),
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.affected_subjects_estimate == 1200


def test_the_count_is_a_text_input_the_browser_does_not_empty(users, incident_in):
    incident = incident_in("scoping")
    html = browser(users["engineer"]).get(f"/incidents/{incident.reference}/").content.decode()
    field = re.search(r'<input[^>]*name="affected_subjects_estimate"[^>]*>', html).group(0)
    assert 'type="text"' in field and 'inputmode="numeric"' in field


def test_searching_a_reference_with_persian_digits_finds_it(users, incident_in):
    incident, other = incident_in("scoping"), incident_in("scoping")
    persian = incident.reference.lower().translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    html = browser(users["executive"]).get("/incidents/", {"search": persian}).content.decode()
    assert f'href="/incidents/{incident.reference}/"' in html
    assert f'href="/incidents/{other.reference}/"' not in html


def test_the_page_list_and_the_api_list_read_the_same_filters(users, incident_in, api):
    """One IncidentFilter: the same query string picks the same incidents on both."""
    incident_in("scoping", severity="high", title="Phishing wave")
    incident_in("scoping", severity="low", title="Phishing test")
    incident_in("restoring", severity="high", title="Backup exposed")
    query = {"search": "phishing", "severity": "high", "ordering": "-reference"}
    found = [
        i["reference"] for i in api("executive").get("/api/incidents/", query).json()["results"]
    ]
    html = browser(users["executive"]).get("/incidents/", query).content.decode()
    listed = re.findall(r'href="/incidents/(INC-[0-9-]+)/"', html)
    assert found == listed and len(found) == 1


def test_a_moment_refusal_reads_in_persian_words_and_jalali_time(users, incident_in):
    incident = incident_in("scoping")
    response = browser(users["engineer"]).post(
        f"/incidents/{incident.reference}/edit/timing/",
        timing_post(incident, aware_at="2026-11-23T02:10"),
        follow=True,
    )
    shown_again(response)
    html = response.content.decode()
    assert "زمان شناسایی (۱۴۰۵/۰۹/۰۳ ۰۲:۱۰)" in html
    assert "detected_at" not in html.split('id="id_aware_at"')[1].split("</div>")[0]


def test_the_new_incident_form_makes_you_choose_a_severity(users):
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    html = client.get("/incidents/new/").content.decode()
    select = html.split('name="severity"')[1].split("</select>")[0]
    assert '<option value="" selected>' in select
    response = client.post("/incidents/new/", {"title": "No severity"}, follow=True)
    assert 'value="No severity"' in shown_again(response)  # what was typed is kept
    assert not Incident.objects.exists()


def test_dismiss_is_not_dressed_as_the_next_step(users, incident_in):
    incident = incident_in("detected")
    html = browser(users["engineer"]).get(f"/incidents/{incident.reference}/").content.decode()
    assert '<button type="submit" class="primary" name="transition" value="start_scoping">' in html
    assert '<button type="submit" class="quiet" name="transition" value="dismiss"' in html


def test_close_asks_for_a_reason_only_where_it_needs_one(users, incident_in):
    referred = incident_in("referred")
    html = browser(users["legal"]).get(f"/incidents/{referred.reference}/").content.decode()
    close = html.split('id="action-close"')[1].split("</form>")[0]
    assert 'name="reason"' not in close
    # Medium: closing it needs no post-incident review, so the close form is offered.
    restored = incident_in("restored", severity="medium")
    html = browser(users["legal"]).get(f"/incidents/{restored.reference}/").content.decode()
    close = html.split('id="action-close"')[1].split("</form>")[0]
    assert 'name="reason"' in close
    assert 'data-confirm="confirm-close"' in close  # a destructive step asks first


def test_a_filter_that_does_not_parse_is_named_and_the_others_still_apply(users, incident_in):
    high = incident_in("scoping", severity="high")
    low = incident_in("scoping", severity="low")
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    html = client.get("/incidents/", {"state": "bogus", "severity": "high"}).content.decode()
    assert "Not understood, so not applied: State" in html
    assert high.reference in html and low.reference not in html


def test_persian_lifecycle_picture_flows_right_to_left(users, incident_in):
    from frontend import charts

    ltr, rtl = charts.lifecycle("detected"), charts.lifecycle("detected", rtl=True)
    x = {n["key"]: n["x"] for n in rtl["nodes"]}
    assert x["detected"] > x["scoping"] > x["restoring"]
    assert {n["key"]: n["x"] for n in ltr["nodes"]}["detected"] < x["detected"]
    for edge_ltr, edge_rtl in zip(ltr["edges"], rtl["edges"], strict=True):
        assert edge_ltr["lx"] + edge_rtl["lx"] == ltr["width"]
    incident = incident_in("detected")
    html = browser(users["engineer"]).get(f"/incidents/{incident.reference}/").content.decode()
    rtl_x = re.search(r'data-state="detected"><rect x="(\d+)"', html).group(1)
    assert int(rtl_x) == x["detected"]


def test_persian_bar_charts_put_the_first_bar_on_the_right():
    from frontend import charts

    chart = charts.bars([("a", "A", 1), ("b", "B", 2)], rtl=True)
    assert chart["bars"][0].x > chart["bars"][1].x


@pytest.mark.parametrize(
    "typed", ["۱۴۰۵/۰۹/۰۳ ۰۲:۱۰", "1405/09/03 02:10", "1405-9-3 2:10", "2026-11-24T02:10"]
)
def test_persian_readers_type_moments_in_jalali_or_gregorian(users, incident_in, typed):
    incident = incident_in("scoping")
    response = browser(users["engineer"]).post(
        f"/incidents/{incident.reference}/edit/timing/",
        timing_post(incident, detected_at=typed, aware_at=typed),
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.detected_at.isoformat() == "2026-11-23T22:40:00+00:00"  # 02:10 in Tehran


@pytest.mark.parametrize("typed", ["1405/13/01 02:10", "1405/12/31 25:00", "2026-02-30 10:00"])
def test_an_impossible_date_is_refused_on_the_field(users, incident_in, typed):
    incident = incident_in("scoping")
    response = browser(users["engineer"]).post(
        f"/incidents/{incident.reference}/edit/timing/",
        timing_post(incident, detected_at=typed),
        follow=True,
    )
    shown_again(response)
    assert f'value="{typed}"' in response.content.decode()


def test_moment_boxes_show_jalali_in_persian_and_the_picker_in_english(users, incident_in):
    incident = incident_in("scoping", detected_at="2026-11-23T22:40:00Z")
    url = f"/incidents/{incident.reference}/"
    persian = browser(users["engineer"]).get(url).content.decode()
    box = re.search(r'<input[^>]*name="detected_at"[^>]*>', persian).group(0)
    assert 'type="text"' in box and 'value="۱۴۰۵/۰۹/۰۳ ۰۲:۱۰"' in box
    english = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en").get(url).content.decode()
    box = re.search(r'<input[^>]*name="detected_at"[^>]*>', english).group(0)
    assert 'type="datetime-local"' in box and 'value="2026-11-24T02:10"' in box


def test_refer_asks_for_nothing_once_a_submitted_referral_is_on_record(users, incident_in):
    from incidents.legal.referrals import apply_referral_transition, create_referral

    incident = incident_in("restored")
    html = browser(users["legal"]).get(f"/incidents/{incident.reference}/").content.decode()
    assert 'name="authority"' in html.split('id="action-refer"')[1].split("</form>")[0]
    data = {"authority": "cyber_police"}
    referral, _ = create_referral(incident, actor=users["legal"], data=data)
    apply_referral_transition(referral, "submit", actor=users["legal"])
    html = browser(users["legal"]).get(f"/incidents/{incident.reference}/").content.decode()
    assert 'name="authority"' not in html.split('id="action-refer"')[1].split("</form>")[0]


def test_persian_field_errors_use_persian_digits(users, incident_in):
    incident = incident_in("scoping")
    response = browser(users["engineer"]).post(
        f"/incidents/{incident.reference}/edit/scope/",
        scope_post(incident.version, affected_subjects_estimate="-5"),
        follow=True,
    )
    shown_again(response)
    error = re.search(
        r'<p class="error" id="id_[a-z_]+_error">([^<]*)</p>', response.content.decode()
    )
    assert "۰" in error.group(1) and "0" not in error.group(1)
