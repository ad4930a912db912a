"""The incident page's status-update section (post, read, follow) and the dashboard's latest
update and "update overdue" mark."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.html import escape

from frontend import metrics
from incidents.models import StatusUpdate
from incidents.workspace.updates import post_update, template_body
from notifier.models import Subscription
from tests.frontend.helpers import browser, shown_again


def page_of(client, incident) -> str:
    answer = client.get(f"/incidents/{incident.reference}/")
    assert answer.status_code == 200
    return answer.content.decode()


def test_the_form_starts_from_the_template_in_the_pages_language(users, incident_in):
    incident = incident_in("scoping")
    english = page_of(browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en"), incident)
    assert 'id="status-update"' in english and "What we know:" in english
    assert 'name="update-body"' in english and 'dir="auto"' in english
    persian = page_of(browser(users["engineer"]), incident)
    with translation.override("fa"):
        assert escape(template_body().strip()) in persian  # the catalogue's Persian lines


def test_an_engineer_posts_an_update_and_it_leads_the_section(users, incident_in):
    incident = incident_in("scoping", severity="critical")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    answer = client.post(
        f"/incidents/{incident.reference}/updates/",
        {"update-body": "Impact: <b>three</b> systems.", "update-next_update_at": ""},
    )
    assert answer.status_code == 302 and answer["Location"].endswith("#status-update")
    html = page_of(client, incident)
    assert "Impact: &lt;b&gt;three&lt;/b&gt; systems." in html  # escaped, never markup
    assert "Next update due" in html
    assert StatusUpdate.objects.get().author == users["engineer"]


def test_a_next_update_in_the_past_comes_back_with_the_error(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    answer = client.post(
        f"/incidents/{incident.reference}/updates/",
        {"update-body": "Typed with care.", "update-next_update_at": "2001-01-01T10:00"},
        follow=True,
    )
    html = shown_again(answer)
    assert "The next update must be due in the future." in html
    assert "Typed with care." in html
    assert not StatusUpdate.objects.exists()


def test_executives_read_updates_but_get_no_form(users, incident_in):
    incident = incident_in("scoping")
    post_update(incident, actor=users["engineer"], body="Scoping the bucket.")
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    html = page_of(client, incident)
    assert "Scoping the bucket." in html and 'name="update-body"' not in html
    refused = client.post(f"/incidents/{incident.reference}/updates/", {"update-body": "x"})
    assert refused.status_code == 403
    assert StatusUpdate.objects.count() == 1


def test_an_overdue_update_is_marked_on_the_page(users, incident_in):
    incident = incident_in("scoping", severity="critical")
    type(incident).objects.filter(pk=incident.pk).update(
        next_update_at=timezone.now() - dt.timedelta(minutes=5)
    )
    html = page_of(browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en"), incident)
    assert "Update overdue" in html


def test_an_executive_follows_and_unfollows_from_the_page(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    assert ">Follow<" in page_of(client, incident)
    client.post(f"/incidents/{incident.reference}/follow/", {"follow": "1"})
    assert Subscription.objects.filter(user=users["executive"], incident=incident).exists()
    assert ">Unfollow<" in page_of(client, incident)
    client.post(f"/incidents/{incident.reference}/follow/", {"follow": "0"})
    assert not Subscription.objects.exists()


def test_the_dashboard_shows_the_latest_update_and_marks_overdue(users, incident_in):
    quiet = incident_in("scoping", severity="critical", title="quiet")
    talking = incident_in("scoping", severity="critical", title="talking")
    post_update(talking, actor=users["engineer"], body="What we know:\n  a public   bucket.")
    type(quiet).objects.filter(pk=quiet.pk).update(
        next_update_at=timezone.now() - dt.timedelta(minutes=1)
    )
    rows = {r.incident.title: r for r in metrics.open_incidents(timezone.now(), users["admin"])}
    assert rows["talking"].update_line == "What we know: a public bucket."
    assert not rows["talking"].update_overdue and rows["quiet"].update_overdue
    html = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    assert "What we know: a public bucket." in html and "Update overdue" in html


def test_the_dashboard_costs_the_same_queries_whatever_the_updates(
    users, incident_in, django_assert_max_num_queries
):
    def add(first: int, last: int) -> None:
        for n in range(first, last):
            incident = incident_in("scoping", title=f"case {n}")
            post_update(incident, actor=users["engineer"], body=f"update {n}")
            post_update(incident, actor=users["legal"], body=f"later {n}")

    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    add(0, 3)
    client.get("/")  # warm the session and the caches
    cache.clear()  # the render's cost, not the shared copy's (frontend/panels.py)
    # 70: without Redis, the database cache's reads and writes of the kept figures (the
    # minute's, the settled states' counts, the closed months) and of the reader's kept parts
    # (frontend/panels.py kept_parts; a write is five queries: frontend/metrics.py, kept) come
    # on top of the render's own.
    with django_assert_max_num_queries(70) as few:
        assert "later 2" in client.get("/").content.decode()
    add(3, 30)
    cache.clear()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert "later 29" in client.get("/").content.decode()


def test_the_incident_page_costs_the_same_queries_whatever_the_updates(
    users, incident_in, django_assert_max_num_queries
):
    incident = incident_in("scoping")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    post_update(incident, actor=users["engineer"], body="first")
    page_of(client, incident)  # warm the session and the caches
    with django_assert_max_num_queries(200) as few:
        page_of(client, incident)
    for n in range(30):
        post_update(incident, actor=users["legal"], body=f"update {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert "update 29" in page_of(client, incident)
