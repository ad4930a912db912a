"""The public notice page and its "Am I affected?" check (issue 18, "On the site"): what the page
says and does not say, the code going out by the real email framework and SMS gateway, the
answer only after the code, and nothing that tells a stranger whether an address is in the
register."""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents.affected.checks import CheckSpent, request_code, sweep, verify
from incidents.affected.decision import record_decision
from incidents.affected.letters import notice_slug
from incidents.models import AccessKind, AccessRecord, AffectedCheck, Incident, Notice
from notifier.check_codes import CheckCodeSending
from notifier.transports.email import EmailTransport
from notifier.transports.sms import sms_transport
from tests.notices import conftest as notices
from tests.notices.conftest import LEAKED, PEOPLE, send_notices

# The notices' fixtures: the breach with its register, settings, SMTP server and SMS gateway.
breach, notice_settings = notices.breach, notices.notice_settings
smtp, sms_gateway = notices.smtp, notices.sms_gateway

MEMBER = "ali@example.com"  # in the breach's register (tests/notices/conftest.py PEOPLE)
STRANGER = "nobody@example.net"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
HANDLE = re.compile(r'name="handle" value="([0-9a-f]{32})"')


@pytest.fixture
def check_settings(notice_settings: Any) -> Any:
    notice_settings.PUBLIC_CHECK_PER_ADDRESS_PER_HOUR = 3
    notice_settings.PUBLIC_CHECK_PER_CLIENT_PER_HOUR = 20
    notice_settings.PUBLIC_CHECK_CODE_MINUTES = 15
    notice_settings.PUBLIC_CHECK_MAX_TRIES = 3
    notice_settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return notice_settings


def page_url(incident: Incident, step: str = "") -> str:
    return f"/notice/{notice_slug(incident.reference)}/" + (f"{step}/" if step else "")


def visitor(language: str = "en", address: str = "203.0.113.7") -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE=language, REMOTE_ADDR=address)


def ask(client: Client, incident: Incident, address: str) -> Any:
    """The address form sent, and its redirect (303) followed: the page the visitor sees."""
    return client.post(page_url(incident, "check"), {"address": address}, follow=True)


def send_codes(transports: dict[str, Any] | None = None) -> None:
    """The worker's code step, run until every claimed code has its answer recorded."""
    sending = CheckCodeSending(transports)
    sending.start()
    try:
        sending.step()
        end = time.monotonic() + 10
        while sending.inflight and time.monotonic() < end:
            cf.wait(sending.futures, timeout=0.2)
            sending.collect()
    finally:
        sending.stop()


def code_sent_to(address: str) -> str:
    [message] = [m for m in mail.outbox if m.to == [address]]
    return re.search(r"\b(\d{6})\b", message.body)[1]


def without_tokens(html: str) -> str:
    return HANDLE.sub('name="handle" value=""', CSRF.sub("", html))


def personal_values() -> list[str]:
    """Every name, email and mobile of the register, as imported and as normalised."""
    values = []
    for _id, name, email, mobile, _language in PEOPLE:
        values += [v for v in (name, email, mobile) if v]
    return values + ["+989121234567", "+989351112233", "09121234567"]


# --- The page ---------------------------------------------------------------------------------


def test_notice_page_says_what_happened_what_leaked_and_what_to_do(
    breach: Incident, check_settings: Any
) -> None:
    response = visitor().get(page_url(breach))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en" dir="ltr">' in html
    assert breach.reference in html and "Example Shop" in html
    for label in ("Identity (names)", "Bank account"):  # the data categories, in English
        assert label in html
    assert "phishing" in html.lower()  # the contact and bank-account advice
    assert 'action="/notice/' in html and 'name="csrfmiddlewaretoken"' in html


def test_notice_page_holds_no_personal_data_nor_internal_words(
    breach: Incident, check_settings: Any
) -> None:
    html = visitor().get(page_url(breach)).content.decode()
    for value in [*personal_values(), breach.title]:
        assert value not in html


def test_notice_page_is_under_the_strict_policy_and_never_cached(
    breach: Incident, check_settings: Any
) -> None:
    for response in (
        visitor().get(page_url(breach)),
        ask(visitor(), breach, MEMBER),
        visitor().get("/notice/inc-2026-9999-000000000000/"),
    ):
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy
        assert "no-store" in response["Cache-Control"]
        assert "<script" not in response.content.decode()


def test_notice_page_in_persian(breach: Incident, check_settings: Any) -> None:
    html = visitor("fa").get(page_url(breach)).content.decode()
    assert '<html lang="fa" dir="rtl">' in html
    assert "فروشگاه نمونه" in html  # COMPANY_NAME_FA
    assert re.search("[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2}", html)  # the Jalali date in Persian digits
    assert "فیشینگ" in html or "پیامک" in html  # the Persian advice


def test_unknown_slugs_and_incidents_without_a_notice_are_the_same_404(
    breach: Incident, check_settings: Any, incident_in: Callable[..., Incident]
) -> None:
    quiet = incident_in("restoring")  # no decision, no campaign: no public page
    tampered = notice_slug(breach.reference)[:-1] + "0"
    if tampered == notice_slug(breach.reference):
        tampered = tampered[:-1] + "1"
    answers = [
        visitor().get(f"/notice/{notice_slug(quiet.reference)}/"),
        visitor().get(f"/notice/{tampered}/"),
        visitor().get("/notice/inc-2026-0001/"),
        ask(visitor(), quiet, MEMBER),
    ]
    assert {r.status_code for r in answers} == {404}
    # The same page but for its own address (the language switch returns to it).
    pages = {without_tokens(r.content.decode().replace(r.wsgi_request.path, "")) for r in answers}
    assert len(pages) == 1
    assert not AffectedCheck.objects.exists()


def test_a_decision_that_a_notice_is_not_needed_hides_the_page(
    breach: Incident, check_settings: Any, users: dict[str, Any]
) -> None:
    assert visitor().get(page_url(breach)).status_code == 200
    record_decision(
        breach,
        actor=users["legal"],
        outcome="not_required",
        exemption="low_risk",
        reason="Hashed with a strong salt after all.",
    )
    assert visitor().get(page_url(breach)).status_code == 404


# --- Asking for a code ------------------------------------------------------------------------


def test_a_member_and_a_stranger_get_the_same_answer_and_both_get_a_code(
    breach: Incident, check_settings: Any
) -> None:
    member, stranger = ask(visitor(), breach, MEMBER), ask(visitor(), breach, STRANGER)
    assert member.status_code == stranger.status_code == 200
    assert member.redirect_chain == stranger.redirect_chain == [(page_url(breach, "verify"), 303)]
    a, b = member.content.decode(), stranger.content.decode()
    assert len(a) == len(b)
    assert without_tokens(a) == without_tokens(b)
    assert MEMBER not in a and STRANGER not in b  # the address is not echoed
    send_codes()
    assert code_sent_to(MEMBER) != code_sent_to(STRANGER)
    assert AffectedCheck.objects.filter(status=Notice.SENT).count() == 2


def test_asking_for_a_code_does_the_same_work_whoever_asks(
    breach: Incident, check_settings: Any
) -> None:
    """No branch on membership to time: the register is not even read until the code."""
    runs = []
    for n, address in enumerate((MEMBER, STRANGER, "SARA@example.org")):
        with CaptureQueriesContext(connection) as queries:  # each a first ask from its client
            request_code(breach, address, "en", f"198.51.100.{n}")
        statements = [q["sql"] for q in queries.captured_queries]
        assert not any("incidents_affectedperson" in sql for sql in statements)
        runs.append([re.sub(r"'[^']*'|\d+", "?", sql) for sql in statements])
    assert runs[0] == runs[1] == runs[2]


def test_an_invalid_address_is_refused_in_the_form(breach: Incident, check_settings: Any) -> None:
    for typed in ("not an address", "0212345678", "a@", ""):
        response = ask(visitor(), breach, typed)
        assert response.redirect_chain == [(f"{page_url(breach)}#error-summary", 303)]
        html = response.content.decode()
        assert 'id="error-summary"' in html and 'aria-invalid="true"' in html
    assert not AffectedCheck.objects.exists()


def test_the_forms_need_their_csrf_token(breach: Incident, check_settings: Any) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(page_url(breach, "check"), {"address": MEMBER}).status_code == 403
    assert not AffectedCheck.objects.exists()


def test_too_many_codes_for_one_address_is_a_429_whoever_asks(
    breach: Incident, check_settings: Any
) -> None:
    spellings = [MEMBER, "ALI@Example.com", "ali@EXAMPLE.COM"]
    for index, spelling in enumerate(spellings):  # one address, three clients
        assert ask(visitor(address=f"198.51.100.{index}"), breach, spelling).status_code == 200
    refused = ask(visitor(address="198.51.100.9"), breach, MEMBER)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 3000  # the oldest of the hour leaves in about an hour
    assert AffectedCheck.objects.count() == 3
    # A stranger's address is limited the same way.
    for index in range(3):
        assert ask(visitor(address=f"198.51.101.{index}"), breach, STRANGER).status_code == 200
    assert ask(visitor(), breach, STRANGER).status_code == 429


def test_too_many_codes_from_one_client_is_a_429(breach: Incident, check_settings: Any) -> None:
    check_settings.PUBLIC_CHECK_PER_CLIENT_PER_HOUR = 4
    client = visitor(address="192.0.2.10")
    for n in range(4):
        assert ask(client, breach, f"person{n}@example.net").status_code == 200
    refused = ask(client, breach, "person9@example.net")
    assert refused.status_code == 429 and refused["Retry-After"]
    assert ask(visitor(address="192.0.2.11"), breach, "person9@example.net").status_code == 200


def test_the_database_holds_no_address_or_code_in_clear(
    breach: Incident, check_settings: Any
) -> None:
    for address in (MEMBER, STRANGER, "09121234567"):
        ask(visitor(), breach, address)
    send_codes()
    codes = [code_sent_to(MEMBER), code_sent_to(STRANGER)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM incidents_affectedcheck")
        rows = " ".join(str(value) for row in cursor.fetchall() for value in row)
    for secret in [MEMBER, STRANGER, "+989121234567", "9121234567", *codes]:
        assert secret not in rows
    # The sent ones are wiped of the sealed address at once; the unsent SMS keeps it sealed.
    assert AffectedCheck.objects.filter(status=Notice.SENT, sealed="").count() == 2


# --- The code message -------------------------------------------------------------------------


def test_the_code_message_says_only_the_code_the_company_and_the_reference(
    breach: Incident, check_settings: Any
) -> None:
    ask(visitor("fa"), breach, MEMBER)
    ask(visitor("en"), breach, STRANGER)
    send_codes()
    persian = next(m for m in mail.outbox if m.to == [MEMBER])
    english = next(m for m in mail.outbox if m.to == [STRANGER])
    assert "فروشگاه نمونه" in persian.subject and breach.reference in persian.body
    assert "Example Shop" in english.subject and breach.reference in english.body
    # The same words whether the register holds the address or not, but the code.
    for message in (persian, english):
        html = message.alternatives[0][0]
        for value in personal_values():
            assert value not in message.body and value not in html
        assert "/notice/" not in message.body  # no link: a code message is no place to click


def test_codes_go_out_over_real_smtp_through_the_worker(
    breach: Incident, check_settings: Any, smtp: Any
) -> None:
    ask(visitor(), breach, MEMBER)
    ask(visitor(), breach, STRANGER)
    send_notices(lambda: AffectedCheck.objects.filter(status=Notice.SENT).count() == 2)
    assert len(smtp.mailbox.to(MEMBER)) == len(smtp.mailbox.to(STRANGER)) == 1
    assert re.search(r"\b\d{6}\b", smtp.mailbox.to(MEMBER)[0].get_body(("plain",)).get_content())


def test_codes_go_out_by_sms_to_a_mobile(
    breach: Incident, check_settings: Any, sms_gateway: Any
) -> None:
    ask(visitor("fa"), breach, "۰۹۳۵ ۱۱۱ ۲۲۳۳")  # the register's Persian member with a mobile
    send_codes({"sms": sms_transport()})
    [call] = sms_gateway.delivered()
    assert call.to == "+989351112233"
    assert re.search(r"\b\d{6}\b", call.text) and breach.reference in call.text


def test_a_refused_code_message_is_dead_and_wiped(
    breach: Incident, check_settings: Any, smtp: Any
) -> None:
    smtp.mailbox.refuse.add(STRANGER)
    ask(visitor(), breach, STRANGER)
    send_codes({"email": EmailTransport()})
    check = AffectedCheck.objects.get()
    assert check.status == Notice.DEAD and check.sealed == ""
    assert STRANGER not in check.last_error


# --- The answer -------------------------------------------------------------------------------


def answer(client: Client, incident: Incident, page: Any, code: str) -> Any:
    """The code form sent, and its redirect (303) followed: the page the visitor sees."""
    handle = HANDLE.search(page.content.decode())[1]
    return client.post(page_url(incident, "verify"), {"handle": handle, "code": code}, follow=True)


def test_the_right_code_tells_a_member_what_leaked_and_what_to_do(
    breach: Incident, check_settings: Any
) -> None:
    client = visitor()
    page = ask(client, breach, MEMBER)
    send_codes()
    response = answer(client, breach, page, code_sent_to(MEMBER))
    html = response.content.decode()
    assert response.status_code == 200
    assert response.redirect_chain == [(page_url(breach, "answer"), 303)]
    assert 'data-affected="yes"' in html and "phishing" in html.lower()
    assert MEMBER not in html and "علی" not in html
    [record] = AccessRecord.objects.filter(kind=AccessKind.REGISTER_CHECKED)
    assert record.user is None and record.incident_id == breach.pk and record.address is None
    check = AffectedCheck.objects.get()
    assert check.verified_at and (check.address_hash, check.code_hash, check.sealed) == ("",) * 3
    # Answered once: the same code again opens nothing.
    again = answer(client, breach, page, code_sent_to(MEMBER)).content.decode()
    assert "data-affected" not in again and "can no longer be used" in again


def test_the_right_code_tells_a_stranger_no(breach: Incident, check_settings: Any) -> None:
    client = visitor("fa")
    page = ask(client, breach, STRANGER)
    send_codes()
    persian_code = code_sent_to(STRANGER).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    html = answer(client, breach, page, persian_code).content.decode()
    assert 'data-affected="no"' in html
    assert not AccessRecord.objects.filter(kind=AccessKind.REGISTER_CHECKED).exists()


def test_wrong_codes_are_counted_and_spend_the_check(breach: Incident, check_settings: Any) -> None:
    client = visitor()
    page = ask(client, breach, MEMBER)
    send_codes()
    right = code_sent_to(MEMBER)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    first, second = answer(client, breach, page, wrong), answer(client, breach, page, wrong)
    back = [(f"{page_url(breach, 'verify')}#error-summary", 303)]
    assert first.redirect_chain == second.redirect_chain == back
    assert "2 more times" in first.content.decode() and "once more" in second.content.decode()
    third = answer(client, breach, page, wrong)
    assert "can no longer be used" in third.content.decode()
    late = answer(client, breach, page, right)  # the right code after the tries are spent
    assert "data-affected" not in late.content.decode()
    assert not AccessRecord.objects.filter(kind=AccessKind.REGISTER_CHECKED).exists()
    assert AffectedCheck.objects.get().tries == 3


def test_an_expired_code_opens_nothing_and_is_swept(breach: Incident, check_settings: Any) -> None:
    check = request_code(breach, MEMBER, "en", "198.51.100.1")
    send_codes()
    code = code_sent_to(MEMBER)
    later = check.expires_at + dt.timedelta(seconds=1)
    with pytest.raises(CheckSpent):
        verify(breach, check.handle, code, now=later)
    unsent = request_code(breach, STRANGER, "en", "198.51.100.1")  # never sent
    wiped, deleted = sweep(now=later)
    assert (wiped, deleted) == (2, 0)
    unsent.refresh_from_db()
    assert unsent.status == Notice.DEAD and unsent.sealed == unsent.address_hash == ""
    assert sweep(now=later + dt.timedelta(days=8)) == (0, 2)


def test_a_handle_opens_nothing_on_another_incidents_page(
    breach: Incident, check_settings: Any, users: dict[str, Any], incident_in: Any
) -> None:
    other = incident_in("restoring")
    from incidents.lifecycle import update_incident

    other, _ = update_incident(other, actor=users["engineer"], changes={"data_categories": LEAKED})
    record_decision(other, actor=users["legal"], outcome="notify", reason="Bank accounts.")
    check = request_code(breach, MEMBER, "en", "198.51.100.1")
    send_codes()
    with pytest.raises(CheckSpent):
        verify(other, check.handle, code_sent_to(MEMBER))


def test_the_worker_sweeps_expired_checks(breach: Incident, check_settings: Any) -> None:
    request_code(breach, STRANGER, "en", "198.51.100.1")
    # The clock moved past the code's end (the row's deadline moved back instead).
    AffectedCheck.objects.update(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    send_notices()
    check = AffectedCheck.objects.get()
    assert check.status == Notice.DEAD and (check.sealed, check.address_hash) == ("", "")
    assert not mail.outbox  # an expired code is never sent


def test_the_admin_lists_code_messages_without_addresses_or_codes(
    breach: Incident, check_settings: Any, users: dict[str, Any]
) -> None:
    check = request_code(breach, MEMBER, "en", "198.51.100.1")
    send_codes()
    admin = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(users["admin"])
    for url in (
        "/admin/incidents/affectedcheck/",
        f"/admin/incidents/affectedcheck/{check.pk}/change/",
    ):
        response = admin.get(url)
        html = response.content.decode()
        assert response.status_code == 200, (url, response.status_code, response.get("Location"))
        assert "Sent" in html
        for secret in (MEMBER, code_sent_to(MEMBER), check.handle, check.code_hash):
            assert secret not in html


def test_the_language_switch_works_for_an_anonymous_visitor(
    breach: Incident, check_settings: Any
) -> None:
    client = visitor("en")
    assert '<html lang="en"' in client.get(page_url(breach)).content.decode()
    switched = client.post("/i18n/setlang/", {"language": "fa", "next": page_url(breach)})
    assert switched.status_code == 302 and switched["Location"] == page_url(breach)
    assert '<html lang="fa" dir="rtl">' in client.get(page_url(breach)).content.decode()
    # Switching on a form's answer comes back to the notice, never to a bare 405.
    back = client.get(page_url(breach, "verify"))
    assert back.status_code == 302 and back["Location"] == page_url(breach)
