"""The incident page's Tasks section: the list with labelled done buttons and badges, adding,
marking done, changing, deleting, refusals shown on the page, readers without forms."""

from __future__ import annotations

import pytest
from django.conf import settings

from incidents.models import Event, Task
from incidents.workspace.tasks import add_task, set_task_done
from tests.frontend.helpers import browser, shown_again

pytestmark = pytest.mark.django_db


def page_of(client, incident) -> str:
    response = client.get(f"/incidents/{incident.reference}/")
    assert response.status_code == 200
    return response.content.decode()


def section(html: str) -> str:
    return html.split('id="tasks"')[1].split("</section>")[0]


def test_tasks_are_listed_with_labelled_buttons_and_badges(users, incident_in):
    incident = incident_in("restoring")
    html = section(page_of(browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en"), incident))
    assert "<h2" in html and ">Tasks</h2>" in html
    assert "Mark done: <bdi>Confirm the fix with a second engineer</bdi>" in html
    assert "Mark not done: <bdi>Preserve logs and snapshots" in html  # done on the way here
    assert ">Required</span>" in html and ">Second engineer</span>" in html
    assert 'id="add-task"' in html
    for label in ("id_task-title", "id_task-assignee", "id_task-due_at"):
        assert f'for="{label}"' in html
    assert 'dir="auto"' in html


def test_runbook_titles_follow_the_page_language(users, incident_in):
    incident = incident_in("scoping")
    html = section(page_of(browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="fa"), incident))
    assert "پیش از هر تغییری، لاگ‌ها و اسنپ‌شات‌ها را حفظ کنید" in html


def test_engineer_adds_a_task_and_marks_it_done_from_the_page(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        f"/incidents/{incident.reference}/tasks/",
        {"task-title": "Call the hosting company", "task-assignee": "admin"},
    )
    assert response.status_code == 302
    task = Task.objects.get(title="Call the hosting company")
    assert response["Location"].endswith(f"#task-{task.pk}")
    assert task.assignee == users["admin"] and task.phase == "scoping"
    response = client.post(
        f"/incidents/{incident.reference}/tasks/{task.pk}/done/",
        {"version": task.version, "done": "1"},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.done and task.done_by == users["engineer"]
    assert Event.objects.filter(incident=incident).last().kind == "task.done"
    html = section(page_of(client, incident))
    assert "Done by <bdi>engineer</bdi>" in html


def test_engineer_changes_assignee_due_and_note(users, incident_in):
    incident = incident_in("scoping")
    task = incident.tasks.get(required=True)
    response = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en").post(
        f"/incidents/{incident.reference}/tasks/{task.pk}/edit/",
        {
            f"task{task.pk}-version": task.version,
            f"task{task.pk}-assignee": "engineer",
            f"task{task.pk}-due_at": "2099-01-02T03:04",
            f"task{task.pk}-note": "Snapshots on the NAS",
        },
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.assignee, task.note) == (users["engineer"], "Snapshots on the NAS")
    assert task.due_at.year == 2099


def test_a_blank_title_is_refused_keeping_the_form_open(users, incident_in):
    incident = incident_in("scoping")
    before = Event.objects.count()
    response = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en").post(
        f"/incidents/{incident.reference}/tasks/", {"task-title": ""}, follow=True
    )
    html = section(shown_again(response))
    assert '<details id="add-task" open>' in html
    assert "This field is required." in html
    assert Event.objects.count() == before


def test_the_second_engineer_rule_is_explained_on_the_page(users, incident_in):
    incident = incident_in("restoring")
    engineer = users["engineer"]
    for task in incident.tasks.required_open().filter(confirms=False):
        set_task_done(task, actor=engineer)
    confirm = incident.tasks.get(confirms=True)
    response = browser(engineer, HTTP_ACCEPT_LANGUAGE="en").post(
        f"/incidents/{incident.reference}/tasks/{confirm.pk}/done/",
        {"version": confirm.version, "done": "1"},
        follow=True,
    )
    assert "A second engineer confirms this" in shown_again(response)
    confirm.refresh_from_db()
    assert not confirm.done


def test_still_needed_names_the_tasks(users, incident_in):
    incident = incident_in("restoring")
    html = page_of(browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en"), incident)
    assert "every required task done (see Tasks)" in html


def test_only_own_and_optional_tasks_offer_delete(users, incident_in):
    incident = incident_in("scoping")
    own, _ = add_task(incident, actor=users["engineer"], data={"title": "Own one"})
    required = incident.tasks.get(required=True)
    html = section(page_of(browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en"), incident))
    assert f"/tasks/{own.pk}/delete/" in html
    assert f"/tasks/{required.pk}/delete/" not in html
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        f"/incidents/{incident.reference}/tasks/{required.pk}/delete/",
        {"version": required.version},
        follow=True,
    )
    assert "cannot be deleted, only done" in shown_again(response)
    response = client.post(
        f"/incidents/{incident.reference}/tasks/{own.pk}/delete/", {"version": own.version}
    )
    assert response.status_code == 302 and not Task.objects.filter(pk=own.pk).exists()


def test_deleting_a_task_asks_first_in_a_dialog_inside_its_form(users, incident_in):
    incident = incident_in("scoping")
    own, _ = add_task(incident, actor=users["engineer"], data={"title": "Own one"})
    html = section(page_of(browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en"), incident))
    form = html.split(f"/tasks/{own.pk}/delete/")[1].split("</form>")[0]
    assert f'data-confirm="confirm-task-{own.pk}"' in form
    dialog = form.split(f'<dialog class="confirm" id="confirm-task-{own.pk}"')[1]
    assert "Delete this task?" in dialog and "Own one" in dialog
    assert '<button type="submit" class="danger">Delete task</button>' in dialog
    assert '<button type="button" data-close>Go back</button>' in dialog


def test_the_done_toggle_is_a_labelled_button_styled_for_touch(users, incident_in):
    incident = incident_in("scoping")
    html = section(page_of(browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en"), incident))
    toggle = html.split('class="check-button"')[1].split("</button>")[0]
    assert '<span class="visually-hidden">Mark done: <bdi>' in toggle
    css = (settings.BASE_DIR / "frontend/static/frontend/app.css").read_text()
    assert "button.check-button:focus-visible" in css
    assert ".check-mark { width: 44px; height: 44px; }" in css


def test_executive_reads_tasks_without_forms_and_a_post_is_403(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    html = section(page_of(client, incident))
    assert "Preserve logs and snapshots" in html
    assert "<form" not in html
    response = client.post(f"/incidents/{incident.reference}/tasks/", {"task-title": "x"})
    assert response.status_code == 403
    assert not Task.objects.filter(title="x").exists()


def test_task_section_queries_do_not_grow_with_tasks(
    users, incident_in, django_assert_max_num_queries
):
    def count_for(n: int) -> int:
        incident = incident_in("scoping")
        for i in range(n):
            add_task(incident, actor=users["engineer"], data={"title": f"T{i}"})
        client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            page_of(client, incident)
        return len(queries)

    assert count_for(30) == count_for(3)
