"""Rotating PII_ENCRYPTION_KEY: after `rotate_pii_key` the register opens and is found with the
new key alone."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from incidents.affected.contacts import email_hash
from incidents.affected.register import add_person, open_people, people_of
from incidents.models import AffectedPerson

pytestmark = pytest.mark.django_db


def test_after_rotation_the_register_opens_and_is_found_with_the_new_key_alone(
    settings, incident_in, users
):
    incident = incident_in("restoring")
    add_person(
        incident,
        {"customer_id": "C-1", "name": "Sara", "email": "sara@example.com"},
        actor=users["legal"],
    )
    old = list(settings.PII_ENCRYPTION_KEYS)
    new = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new, *old]
    assert not AffectedPerson.objects.filter(email_hash=email_hash("sara@example.com")).exists()

    call_command("rotate_pii_key", verbosity=0)

    settings.PII_ENCRYPTION_KEYS = [new]
    person = AffectedPerson.objects.get(email_hash=email_hash("sara@example.com"))
    [opened] = open_people(people_of(incident).filter(pk=person.pk))
    assert opened.contact["email"] == "sara@example.com" and opened.contact["name"] == "Sara"


def test_a_row_no_key_opens_stops_the_rotation_with_a_clear_error(settings, incident_in, users):
    incident = incident_in("restoring")
    add_person(incident, {"customer_id": "C-1", "email": "a@example.com"}, actor=users["legal"])
    settings.PII_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="PII_ENCRYPTION_KEY_FALLBACKS"):
        call_command("rotate_pii_key", verbosity=0)
