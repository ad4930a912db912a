"""Who reads restricted incidents, as a push asks it (frontend.panels.stamp_and_readers): the
answer the push before kept, checked in the stamp's own query, and read again as soon as an
event may have changed it."""

from __future__ import annotations

from dataclasses import replace

from frontend.panels import stamp, stamp_and_readers
from incidents.lifecycle import update_incident
from incidents.need_to_know import change_restriction
from incidents.notes import add_note
from tests.conftest import make_user


def test_the_answer_kept_is_checked_in_the_stamps_query(
    users, incident_in, django_assert_num_queries
):
    incident = incident_in("detected")
    ids = {users["engineer"].pk, users["executive"].pk}
    with django_assert_num_queries(2):  # the stamp, then who reads restricted incidents
        at, known = stamp_and_readers(False, ids, None)
    assert known.found == frozenset() and at == stamp(False)
    add_note(incident, actor=users["engineer"], text="a quiet change")
    with django_assert_num_queries(1):
        at, kept = stamp_and_readers(False, {users["engineer"].pk}, known)
    assert at == stamp(False) and kept.found == frozenset() and kept.seq == at.seq


def test_a_restriction_and_its_members_are_read_again(users, incident_in):
    incident = incident_in("scoping")  # its commander is the engineer
    ids = {users["legal"].pk, users["executive"].pk}
    _, known = stamp_and_readers(False, ids, None)
    change_restriction(incident, actor=users["admin"], restricted=True, members=["legal"])
    at, known = stamp_and_readers(False, ids, known)
    assert known.found == {users["legal"].pk} and at == stamp(False)
    change_restriction(incident, actor=users["admin"], members=[])
    _, known = stamp_and_readers(False, ids, known)
    assert known.found == frozenset()


def test_a_commander_edit_is_read_again(users, incident_in):
    incident = incident_in("scoping")
    change_restriction(incident, actor=users["admin"], restricted=True)
    commander = make_user("commander", "engineer")
    ids = {users["engineer"].pk, commander.pk}
    _, known = stamp_and_readers(False, ids, None)
    assert known.found == {users["engineer"].pk}  # its commander until now
    update_incident(incident, actor=users["admin"], changes={"commander": commander})
    _, known = stamp_and_readers(False, ids, known)
    assert known.found == {commander.pk}


def test_a_reader_not_asked_before_or_another_log_is_read_again(
    users, incident_in, django_assert_num_queries
):
    incident = incident_in("scoping")
    change_restriction(incident, actor=users["admin"], restricted=True, members=["legal"])
    _, known = stamp_and_readers(False, {users["executive"].pk}, None)
    with django_assert_num_queries(2):
        _, wider = stamp_and_readers(False, {users["executive"].pk, users["legal"].pk}, known)
    assert wider.found == {users["legal"].pk}
    rebuilt = replace(wider, found=frozenset(), head="f" * 16)  # same seq, another log
    with django_assert_num_queries(2):
        _, known = stamp_and_readers(False, {users["legal"].pk}, rebuilt)
    assert known.found == {users["legal"].pk}
