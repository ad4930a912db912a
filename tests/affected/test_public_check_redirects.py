"""The public "Am I affected?" check is Post/Redirect/Get at every step (issue 20 section 4):
each form answers 303 to a page of its own, a reload of that page never sends a form again nor
a new code, a refused form comes back with the error summary and its field marked, the answer
is shown once, and no Location header ever carries anything personal."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.test import Client

from incidents.models import AffectedCheck, Incident
from tests.affected.test_public_check import (
    HANDLE,
    MEMBER,
    STRANGER,
    breach,
    check_settings,
    code_sent_to,
    notice_settings,
    page_url,
    send_codes,
    visitor,
)

__all__ = ["breach", "check_settings", "notice_settings"]  # the fixtures this module uses


def post_address(client: Client, incident: Incident, address: str) -> Any:
    return client.post(page_url(incident, "check"), {"address": address})


def post_code(client: Client, incident: Incident, code: str) -> Any:
    handle = HANDLE.search(client.get(page_url(incident, "verify")).content.decode())[1]
    return client.post(page_url(incident, "verify"), {"handle": handle, "code": code})


def session_text(client: Client) -> str:
    """Everything the session table holds for this browser, decoded."""
    return str(SessionStore(session_key=client.cookies["sessionid"].value).load())


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_asking_for_a_code_redirects_to_the_code_form_and_a_reload_sends_no_new_code(
    breach: Incident, check_settings: Any
) -> None:
    client = visitor()
    sent = post_address(client, breach, MEMBER)
    assert sent.status_code == 303 and sent["Location"] == page_url(breach, "verify")
    first = client.get(page_url(breach, "verify"))
    again = client.get(page_url(breach, "verify"))  # the reload: a GET, no form sent
    assert first.status_code == again.status_code == 200
    assert HANDLE.search(first.content.decode())[1] == HANDLE.search(again.content.decode())[1]
    assert AffectedCheck.objects.count() == 1
    send_codes()
    assert len(mail.outbox) == 1
    assert "no-store" in again["Cache-Control"]


def test_a_member_and_a_stranger_are_sent_to_the_same_address(
    breach: Incident, check_settings: Any
) -> None:
    member, stranger = (
        post_address(visitor(), breach, MEMBER),
        post_address(visitor(), breach, STRANGER),
    )
    assert member.status_code == stranger.status_code == 303
    assert member["Location"] == stranger["Location"] == page_url(breach, "verify")


def test_the_code_form_without_a_check_under_way_goes_back_to_the_notice(
    breach: Incident, check_settings: Any
) -> None:
    response = visitor().get(page_url(breach, "verify"))
    assert response.status_code == 302 and response["Location"] == page_url(breach)


def test_a_refused_address_comes_back_once_with_the_summary_and_the_field_in_error(
    breach: Incident, check_settings: Any
) -> None:
    client = visitor()
    typed = "ali@"
    refused = post_address(client, breach, typed)
    assert refused.status_code == 303
    assert refused["Location"] == f"{page_url(breach)}#error-summary"
    html = client.get(page_url(breach)).content.decode()
    assert 'id="error-summary"' in html and 'href="#id_address"' in html
    assert 'aria-invalid="true" aria-describedby="address-error"' in html
    assert '<script src="/static/frontend/error_summary.js" defer></script>' in html
    assert typed not in html  # an address is not echoed, nor held for the page
    assert typed not in session_text(client)
    reloaded = client.get(page_url(breach)).content.decode()  # shown once
    assert 'id="error-summary"' not in reloaded and "aria-invalid" not in reloaded
    assert not AffectedCheck.objects.exists()


def test_a_wrong_code_comes_back_to_the_code_form_with_the_summary(
    breach: Incident, check_settings: Any
) -> None:
    client = visitor()
    post_address(client, breach, MEMBER)
    send_codes()
    guess = wrong(code_sent_to(MEMBER))
    refused = post_code(client, breach, guess)
    assert refused.status_code == 303
    assert refused["Location"] == f"{page_url(breach, 'verify')}#error-summary"
    html = client.get(page_url(breach, "verify")).content.decode()
    assert 'id="error-summary"' in html and 'href="#id_code"' in html
    assert 'aria-invalid="true" aria-describedby="code-error"' in html
    assert "2 more times" in html
    assert guess not in html and guess not in session_text(client)
    reloaded = client.get(page_url(breach, "verify")).content.decode()
    assert 'id="error-summary"' not in reloaded and HANDLE.search(reloaded)
    assert AffectedCheck.objects.get().tries == 1  # the reloads took no try


def test_the_answer_is_shown_once_and_never_in_an_url(
    breach: Incident, check_settings: Any
) -> None:
    client = visitor()
    locations = [post_address(client, breach, MEMBER)["Location"]]
    send_codes()
    code = code_sent_to(MEMBER)
    answered = post_code(client, breach, code)
    locations.append(answered["Location"])
    assert answered.status_code == 303 and answered["Location"] == page_url(breach, "answer")
    assert client.head(page_url(breach, "answer")).status_code == 200  # a HEAD spends nothing
    shown = client.get(page_url(breach, "answer"))
    assert shown.status_code == 200 and 'data-affected="yes"' in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    reloaded = client.get(page_url(breach, "answer"))  # once: the reload goes to the notice
    assert reloaded.status_code == 302 and reloaded["Location"] == page_url(breach)
    back = client.get(page_url(breach, "verify"))  # the check is over
    assert back.status_code == 302 and back["Location"] == page_url(breach)
    for location in locations:
        for secret in (MEMBER, "ali", code, "yes", "affected"):
            assert secret not in location.lower()
    assert MEMBER not in session_text(client) and "affected" not in session_text(client)


def test_a_spent_check_goes_back_to_the_notice_with_the_reason_in_the_summary(
    breach: Incident, check_settings: Any
) -> None:
    check_settings.PUBLIC_CHECK_MAX_TRIES = 1
    client = visitor()
    post_address(client, breach, STRANGER)
    send_codes()
    spent = post_code(client, breach, wrong(code_sent_to(STRANGER)))  # the last try, wrong
    assert spent.status_code == 303 and spent["Location"] == f"{page_url(breach)}#error-summary"
    html = client.get(page_url(breach)).content.decode()
    assert 'id="error-summary"' in html and "can no longer be used" in html
    assert "data-affected" not in html
    gone = client.get(page_url(breach, "verify"))  # the spent check's form is gone too
    assert gone.status_code == 302 and gone["Location"] == page_url(breach)


def test_too_many_codes_is_answered_directly_not_as_a_form_error(
    breach: Incident, check_settings: Any
) -> None:
    check_settings.PUBLIC_CHECK_PER_CLIENT_PER_HOUR = 1
    client = visitor(address="192.0.2.20")
    assert post_address(client, breach, MEMBER).status_code == 303
    refused = post_address(client, breach, STRANGER)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "error-summary" not in refused.content.decode()


def test_the_language_switch_on_the_code_form_keeps_the_check(
    breach: Incident, check_settings: Any
) -> None:
    client = visitor("en")
    post_address(client, breach, MEMBER)
    handle = HANDLE.search(client.get(page_url(breach, "verify")).content.decode())[1]
    switched = client.post("/i18n/setlang/", {"language": "fa", "next": page_url(breach, "verify")})
    assert switched["Location"] == page_url(breach, "verify")
    html = client.get(page_url(breach, "verify")).content.decode()
    assert '<html lang="fa" dir="rtl">' in html and re.search(handle, html)
    assert AffectedCheck.objects.count() == 1
