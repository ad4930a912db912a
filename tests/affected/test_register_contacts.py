"""How a person's details are checked and normalised (incidents/affected/contacts.py): every
spelling of an Iranian mobile becomes one, emails keep their mailbox, and a wrong value is
refused with the field named and without repeating the value."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from incidents.affected.contacts import (
    CUSTOMER_ID_MAX,
    NAME_MAX,
    PersonInvalid,
    clean_email,
    clean_mobile,
    clean_person,
    email_hash,
)


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """The messages below are compared in English (the default language is Persian)."""
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    "raw",
    [
        "09121234567",
        "9121234567",
        "+989121234567",
        "989121234567",
        "00989121234567",
        "+98 (0) 912 123 4567",
        "0098 0912 123 4567",
        "0912-123-4567",
        "(0912) 123 4567",
        "0912.123.4567",
        "۰۹۱۲۱۲۳۴۵۶۷",  # Persian digits
        "٠٩١٢١٢٣٤٥٦٧",  # Arabic-Indic digits
        "+۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷",
        "\u200e0912\u00a0123\u20134567",  # a direction mark, a no-break space, an en dash
        "０９１２１２３４５６７",  # full-width
        " 0912 123 4567 ",
    ],
)
def test_every_spelling_of_a_mobile_becomes_one(raw: str) -> None:
    assert clean_mobile(raw) == "+989121234567"


def test_a_number_whose_own_digits_start_with_98_is_not_a_country_code() -> None:
    # 0998 is a real mobile prefix: its bare form 998... must not lose "98" as if it were +98.
    assert clean_mobile("09981234567") == "+989981234567"
    assert clean_mobile("9981234567") == "+989981234567"
    assert clean_mobile("+989981234567") == "+989981234567"


@pytest.mark.parametrize(
    "raw",
    [
        "02112345678",  # a Tehran landline
        "+442071234567",  # another country
        "091212345",  # too short
        "091212345678",  # too long
        "+9121234567",  # "+" with no country code
        "0912x1234567",
        "0912+1234567",
        "++989121234567",
        "+",
        "1" * 41,
    ],
)
def test_what_is_no_iranian_mobile_is_refused(raw: str) -> None:
    with pytest.raises(ValidationError) as refused:
        clean_mobile(raw)
    assert refused.value.messages == ["Enter an Iranian mobile number, such as 0912 123 4567."]


def test_an_email_keeps_its_mailbox_and_lowers_its_domain() -> None:
    assert clean_email("  Ali.Rezaei@Example.COM ") == "Ali.Rezaei@example.com"
    # Look-ups ignore case altogether: the same hash whatever the casing.
    assert email_hash("Ali.Rezaei@example.com") == email_hash("ali.rezaei@example.com")
    assert email_hash("ali@example.com") != email_hash("ali2@example.com")


@pytest.mark.parametrize(
    "raw", ["ali", "ali@", "@example.com", "ali @example.com", "ali@example", "a" * 250 + "@x.io"]
)
def test_a_wrong_email_is_refused_without_repeating_it(raw: str) -> None:
    with pytest.raises(ValidationError) as refused:
        clean_email(raw)
    assert refused.value.messages == ["Enter a valid email address."]


def test_a_person_needs_an_email_or_a_mobile() -> None:
    with pytest.raises(PersonInvalid) as refused:
        clean_person({"customer_id": "C-1", "name": "Ali"})
    [(field, message)] = refused.value.errors
    assert field == "email" and "email or a mobile" in message


def test_every_wrong_field_is_named() -> None:
    with pytest.raises(PersonInvalid) as refused:
        clean_person(
            {
                "customer_id": "C\u200b1",
                "name": "x" * (NAME_MAX + 1),
                "email": "nope",
                "mobile": "021",
                "language": "de",
            }
        )
    assert [field for field, _ in refused.value.errors] == [
        "customer_id",
        "name",
        "email",
        "mobile",
        "language",
    ]


def test_customer_id_is_required_stripped_and_bounded() -> None:
    with pytest.raises(PersonInvalid) as refused:
        clean_person({"customer_id": "   ", "email": "a@b.io"})
    assert refused.value.errors[0][0] == "customer_id"
    assert clean_person({"customer_id": " C-7 ", "email": "a@b.io"}).customer_id == "C-7"
    long_id = "x" * (CUSTOMER_ID_MAX + 1)
    with pytest.raises(PersonInvalid):
        clean_person({"customer_id": long_id, "email": "a@b.io"})


def test_language_is_fa_or_en_in_any_case_and_fa_by_default() -> None:
    base = {"customer_id": "C-1", "email": "a@b.io"}
    assert clean_person(base).language == "fa"
    assert clean_person({**base, "language": " EN "}).language == "en"
    with pytest.raises(PersonInvalid):
        clean_person({**base, "language": "ar"})


def test_a_persian_name_keeps_its_zero_width_non_joiner_but_not_a_line_break() -> None:
    base = {"customer_id": "C-1", "email": "a@b.io"}
    assert clean_person({**base, "name": "مهدی\u200cزاده"}).name == "مهدی\u200cزاده"
    with pytest.raises(PersonInvalid):
        clean_person({**base, "name": "Ali\nReza"})
