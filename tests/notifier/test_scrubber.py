"""No customer's personal data reaches a chat, whatever its spelling (notifier/privacy.py).

Generated spellings: emails, Iranian mobiles (+98, 0098, 0, bare), national ids, IBANs, 16-digit
cards and any run of 10+ digits, in every digit script, with random separators and invisible
characters between the digits, inside Persian and English text. A leak is judged on the output
read the way a person (or a script) would read it: invisible characters dropped, digits of any
script as ASCII, separators ignored."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from incidents.lifecycle import create_incident
from notifier.messages import reminder_text
from notifier.privacy import scrub
from tests.notifier.helpers import alert
from tests.notifier.test_telegram_actions import send

SCRIPTS = {
    "ascii": "0123456789",
    "persian": "۰۱۲۳۴۵۶۷۸۹",
    "arabic_indic": "٠١٢٣٤٥٦٧٨٩",
    "fullwidth": "０１２３４５６７８９",
    "devanagari": "०१२३४५६७८९",
}
SEPARATORS = [" ", "  ", "\u00a0", "\u2009", "\u202f", "\u3000", ".", "-", "\u2013", "/", "_"]
SEPARATORS += ["(", ")", " - ", ". ", ", "]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u200f", "\u00ad"]
CONTEXT = [
    ("Leak of ", " found on db-3"),
    ("نشت اطلاعات مشتری ", " در سرور پرداخت"),
    ("شماره ", "، ایمیل"),
    ("", ""),
    ("(", ")"),
]

# The 17 spellings that reached the chat in the audit, and the canonical ones.
SPELLINGS = [
    "09121234567",
    "+989121234567",
    "00989121234567",
    "0912 345 67 89",
    "0912.345.6789",
    "0912  345  6789",
    "0912\u200b3456789",
    "۰۹۱۲ ۳۴۵ ۶۷ ۸۹",
    "0012345678",
    "001.234567.8",
    "IR820540102680020817909002",
    "IR82.0540.1026.8002.0817.9090.02",
    "IR82  0540  1026  8002  0817  9090  02",
    "IR82\u200b0540\u200b1026\u200b8002\u200b0817\u200b9090\u200b02",
    "6037-9912-3456-7890",
    "6037.9912.3456.7890",
    "6037  9912  3456  7890",
    "6037\u200b9912\u200b3456\u200b7890",
    "ali.rezaei+x@example.co.ir",
    "ali\u200b.rezaei@exam\u200cple.com",
]


# A message's own moments ("1405/09/13 05:40") are not a number; the scrubber keeps them too.
MOMENT = re.compile(r"\d{4}([/.\-])\d{1,2}\1\d{1,2}\s+\d{1,2}:\d{2}")


def read_as_a_person(text: str) -> str:
    """Invisible characters out, every digit ASCII, separators between digits gone."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() else c
        for c in text
        if unicodedata.category(c) != "Cf"
    )
    text = MOMENT.sub("<moment>", text)
    return re.sub(r"(?<=\d)[\s.,\-_/()\[\]+\u2010-\u2015·٫٬،\\]+(?=\d)", "", text)


def assert_no_personal_data(output: str, secret_digits: str = "") -> None:
    seen = read_as_a_person(output)
    assert not re.search(r"\d{10,}", seen), (output, seen)
    assert not re.search(r"[\w.+\-]+@[\w\-]+\.[\w\-]+", seen), (output, seen)
    if len(secret_digits) >= 10:
        assert secret_digits[-7:] not in seen, (output, seen)


def spell(digits: str, script: str, seps: list[str]) -> str:
    table = SCRIPTS[script]
    out = []
    for i, d in enumerate(digits):
        out.append(table[int(d)])
        if i < len(digits) - 1:
            out.append(seps[i % len(seps)] if seps else "")
    return "".join(out)


def digits_of(n: int, *, first: str = "") -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n).map(lambda s: (first + s)[:n])


SECRETS = st.one_of(
    st.tuples(st.sampled_from(["0", "+98", "0098", ""]), digits_of(9, first="9")).map(
        lambda p: (p[0], p[1])
    ),
    digits_of(10).map(lambda d: ("", d)),  # national id
    digits_of(24).map(lambda d: ("IR", d)),  # IBAN
    digits_of(16, first="6").map(lambda d: ("", d)),  # card
    st.integers(10, 30).flatmap(digits_of).map(lambda d: ("", d)),  # any long run
)


@st.composite
def spelled(draw: st.DrawFn) -> tuple[str, str]:
    prefix, digits = draw(SECRETS)
    script = draw(st.sampled_from(sorted(SCRIPTS)))
    mixed = draw(st.booleans())
    seps = draw(st.lists(st.sampled_from(SEPARATORS + INVISIBLE + [""]), min_size=0, max_size=6))
    if mixed:
        chars = [SCRIPTS[draw(st.sampled_from(sorted(SCRIPTS)))][int(d)] for d in digits]
        text = "".join(c + (seps[i % len(seps)] if seps else "") for i, c in enumerate(chars))
    else:
        text = spell(digits, script, seps)
    if prefix:
        prefix = prefix if draw(st.booleans()) else prefix.lower()
        text = prefix + draw(st.sampled_from(["", " ", "\u200b", "-"])) + text
    return text, digits


@st.composite
def emails(draw: st.DrawFn) -> str:
    local = draw(st.from_regex(r"[a-z][a-z0-9._+\-]{0,15}", fullmatch=True))
    domain = draw(st.from_regex(r"[a-z][a-z0-9\-]{0,10}(\.[a-z]{2,4}){1,2}", fullmatch=True))
    address = f"{local}@{domain}"
    invisible = draw(st.lists(st.sampled_from(INVISIBLE), max_size=3))
    for char in invisible:
        at = draw(st.integers(0, len(address)))
        address = address[:at] + char + address[at:]
    return address


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=spelled(), context=st.sampled_from(CONTEXT))
@example(secret=("0912\u200b345\u200b67\u200b89", "09123456789"), context=CONTEXT[1])
def test_no_spelling_of_a_number_survives(secret, context):
    text, digits = secret
    before, after = context
    output = scrub(before + text + after)
    assert_no_personal_data(output, digits)
    if before[:1].isalpha():
        assert before.split()[0] in output  # the words around it stay


@settings(max_examples=200, deadline=None)
@given(address=emails(), context=st.sampled_from(CONTEXT))
def test_no_email_survives(address, context):
    output = scrub(context[0] + address + context[1])
    assert_no_personal_data(output)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_audited_spelling_is_scrubbed(spelling):
    assert_no_personal_data(scrub(f"نشت {spelling} از سرور"), re.sub(r"\D", "", spelling))


@pytest.mark.parametrize(
    "ordinary",
    [
        "INC-2026-0007 affects 120 rows on 3 servers",
        "Breach found 2026-11-24 02:10 on db-3",
        "نشت در ۱۴۰۵/۰۹/۱۳ ۰۲:۱۰ کشف شد",
        "1403/05/12",
        "nginx 1.22.1 on port 8443",
        "۳۵۰ حساب کاربری در خطر است",
        "می‌شود",  # a zero-width non-joiner inside a Persian word stays
    ],
)
def test_ordinary_text_survives(ordinary):
    assert scrub(ordinary) == ordinary


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_no_spelling_reaches_an_alert(spelling, settings):
    settings.TELEGRAM_INCLUDE_TITLE = True
    text = alert(title=f"Dump of {spelling} on web-1", actor=f"eng {spelling}")
    assert_no_personal_data(text, re.sub(r"\D", "", spelling))
    assert "Dump of" in text


def test_no_spelling_reaches_open_or_status(users, linked, tg_settings):
    tg_settings.TELEGRAM_INCLUDE_TITLE = True
    for spelling in SPELLINGS:
        incident, _event = create_incident(
            actor=users["engineer"], data={"title": f"Leak {spelling} x", "severity": "high"}
        )
        for command in ("/open", f"/status {incident.reference}"):
            reply = send(command, 1001)["text"]
            assert incident.reference in reply
            assert_no_personal_data(reply, re.sub(r"\D", "", spelling))


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_no_spelling_reaches_a_reminder(spelling):
    facts = {
        "stage": "due",
        "reference": "INC-2026-0001",
        "severity": "high",
        "step": f"Call {spelling}",
        "recipient": f"Regulator {spelling}",
        "rule": "72h",
        "due_at": dt.datetime(2026, 12, 4, 2, 10, tzinfo=dt.UTC),
    }
    for language in ("fa", "en"):
        text = reminder_text(language=language, time_zone="Asia/Tehran", facts=facts)
        assert_no_personal_data(text, re.sub(r"\D", "", spelling))
