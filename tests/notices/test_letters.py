"""A letter as one person reads it: escaped in the HTML part, plain in the text part, written in
a sandbox, with a notice page address nobody can guess."""

from __future__ import annotations

import pytest
from django.test import override_settings

from incidents.affected.campaigns import campaign_texts, draft_campaign
from incidents.affected.letters import (
    check_source,
    digest,
    letter,
    notice_slug,
    notice_url,
    reference_of_slug,
)
from incidents.errors import InvalidChange
from tests.notices.conftest import add_people, approved_campaign, send_notices

pytestmark = pytest.mark.usefixtures("notice_settings")
MARKUP = "<b>x</b> & <script>alert(1)</script>"


def test_a_name_with_markup_is_text_in_the_html_part_and_as_written_in_the_text_part(users, breach):
    campaign, _ = draft_campaign(breach, actor=users["legal"])
    made = letter(campaign_texts(campaign), breach, "en", MARKUP)
    assert made.text.startswith(f"Dear {MARKUP},")
    assert "<b>" not in made.html and "<script>" not in made.html
    assert "Dear &lt;b&gt;x&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;," in made.html


def test_legals_own_words_are_text_in_the_html_part_too(users, breach):
    texts = {
        "subject": {"fa": "s", "en": "s"},
        "body": {
            "fa": "x",
            "en": "Use <b>care</b> & {{ name }}\n<i>see</i> https://x.example/a?b=1&c=<2>.\n\nBye",
        },
    }
    campaign, _ = draft_campaign(breach, actor=users["legal"], texts=texts)
    made = letter(campaign_texts(campaign), breach, "en", "<u>Sara</u>")
    assert "<p>Use &lt;b&gt;care&lt;/b&gt; &amp; &lt;u&gt;Sara&lt;/u&gt;<br>" in made.html
    link = '<a href="https://x.example/a?b=1&amp;c=">https://x.example/a?b=1&amp;c=</a>'
    assert f"&lt;i&gt;see&lt;/i&gt; {link}&lt;2&gt;.</p>" in made.html
    assert "<p>Bye</p>" in made.html


def test_the_html_part_reaches_the_inbox_escaped(users, legal2, incident_in, smtp, sms_gateway):
    incident = incident_in("restoring")
    add_people(incident, users["legal"], [("C-1", MARKUP, "m@example.com", "", "en")])
    approved_campaign(incident, users["legal"], legal2)
    send_notices()
    (message,) = smtp.mailbox.to("m@example.com")
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert message.get_body(("plain",)).get_content().startswith(f"Dear {MARKUP},")


@pytest.mark.parametrize(
    "source",
    [
        '{% include "incidents/notices/base.en.txt" %}',
        '{% extends "incidents/notices/email.html" %}',
        "{% load i18n %}",
        "{% debug %}",
        '{% url "incident-list" %}',
        '{% now "Y" %}',
        "{{ name|pprint }}",
        '{{ name|ljust:"100000000" }}',
        "{% for c in categories %}{% for a in advice %}{% endfor %}{% endfor %}",
        "{% for c in name %}{% endfor %}",
        "{{ name.__class__ }}",
        "{% if name %}",
    ],
)
def test_the_sandbox_refuses(source):
    with pytest.raises(InvalidChange) as refused:
        check_source(source, "body.en")
    assert list(refused.value.errors) == ["body.en"]


def test_the_sandbox_takes_what_a_letter_needs():
    check_source(
        "{% if name %}Dear {{ name|title }},{% else %}Dear customer,{% endif %}\n"
        "{% for c in categories %}- {{ c }}\n{% empty %}none{% endfor %}"
        "{% with n=advice|length %}{{ n }}{% endwith %} {{ notice_url }} {{ a|default:'x' }}",
        "body.en",
    )


def test_the_notice_page_slug_is_the_reference_and_a_mac_only_we_can_make():
    slug = notice_slug("INC-2026-0007")
    assert slug.startswith("inc-2026-0007-") and len(slug) == len("inc-2026-0007-") + 12
    assert reference_of_slug(slug) == "INC-2026-0007"
    assert notice_url("INC-2026-0007") == f"https://desk.example.com/notice/{slug}/"
    # the next incident's address cannot be worked out from this one's
    guessed = slug.replace("0007", "0008")
    assert reference_of_slug(guessed) is None
    assert reference_of_slug("inc-2026-0007") is None and reference_of_slug("../x") is None
    # letters already sent keep working after a key rotation that keeps the old key
    with override_settings(SECRET_KEY="a-new-key-" + "x" * 50, SECRET_KEY_FALLBACKS=[]):
        assert reference_of_slug(slug) is None
        assert notice_slug("INC-2026-0007") != slug
    from django.conf import settings

    with override_settings(
        SECRET_KEY="a-new-key-" + "x" * 50, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]
    ):
        assert reference_of_slug(slug) == "INC-2026-0007"


def test_the_digest_covers_what_was_sent_and_changes_with_it(users, breach):
    campaign, _ = draft_campaign(breach, actor=users["legal"])
    texts = campaign_texts(campaign)
    one, again = letter(texts, breach, "fa", "Ali"), letter(texts, breach, "fa", "Ali")
    assert digest("email", one) == digest("email", again)  # a letter can be proven later
    assert digest("email", one) != digest("email", letter(texts, breach, "fa", "Reza"))
    assert digest("sms", one) != digest("email", one)
