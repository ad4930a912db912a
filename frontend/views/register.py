"""The affected-people register on the pages (issue 18 part 2): the CSV import and one person
from the incident page, and the register's own page. Legal and admins only (403 for other
roles, after the 404 of an incident the reader may not see), as in the API; each view calls
one domain function of incidents/affected/ and shows its refusals on the form.

The register's page is the only page that shows people's details; every page of it is an
access record (``record_access``, as the API's list writes)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from core.formats import digits
from frontend import affected_forms
from frontend.views.common import allowed, error_page, form_target, role_required, to_section
from frontend.views.workspace import add_errors, incident_for, page, refused
from incidents.affected.importing import ImportInvalid, import_people
from incidents.affected.register import (
    add_person,
    ensure_may_keep_register,
    open_people,
    people_of,
)
from incidents.api.register import ImportUploadHandler
from incidents.errors import DomainError, InvalidChange
from incidents.models import AccessKind, Incident
from incidents.need_to_know import record_access

PAGE_SIZE = 100


def _to_people(incident: Incident) -> HttpResponse:
    return to_section(incident, "people")


@csrf_exempt  # checked below, once the upload handler that limits the file is in place
@form_target("frontend:incident")
@role_required
@allowed(ensure_may_keep_register)  # 403 before the body is read
def people_import(request: HttpRequest, reference: str) -> HttpResponse:
    """A CSV file of people from the incident page, or only checked (dry run): the result
    (imported, skipped, each wrong line) is shown in the People affected part."""
    incident = incident_for(request, reference)
    # Before anything reads the body (the CSRF check reads the form): the file is cut at
    # AFFECTED_PEOPLE_IMPORT_MAX_BYTES, with a 413, as through the API.
    request.upload_handlers = [ImportUploadHandler(request)]
    try:
        return _import(request, incident)
    except DomainError as error:  # ImportTooLarge, raised while the body is parsed
        return page(request, incident, error.status, error=error.detail)


@csrf_protect
def _import(request: HttpRequest, incident: Incident) -> HttpResponse:
    form = affected_forms.PeopleImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return page(request, incident, 400, import_form=form)
    dry_run = form.cleaned_data["dry_run"]
    try:
        result = import_people(
            incident, form.cleaned_data["file"], actor=request.user, dry_run=dry_run
        )
    except ImportInvalid as invalid:
        return page(request, incident, 400, import_form=form, import_result=invalid.result)
    except DomainError as error:
        return refused(request, incident, error)
    if dry_run:  # nothing changed: the answer is the page itself, with the form kept
        return page(request, incident, import_form=form, import_result=result)
    message = ngettext(
        "%(n)s person imported, %(skipped)s skipped (already in the register).",
        "%(n)s people imported, %(skipped)s skipped (already in the register).",
        result.imported,
    )
    messages.success(
        request, message % {"n": digits(result.imported), "skipped": digits(result.skipped)}
    )
    return _to_people(incident)


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_keep_register)
def person_add(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_for(request, reference)
    form = affected_forms.PersonForm(request.POST)
    if not form.is_valid():
        return page(request, incident, 400, person_form=form)
    try:
        add_person(incident, form.values(), actor=request.user)
    except InvalidChange as error:
        add_errors(form, error)
        return page(request, incident, 400, person_form=form)
    except DomainError as error:  # already listed, a closed incident
        return refused(request, incident, error, person_form=form)
    messages.success(request, _("The person was added to the register."))
    return _to_people(incident)


@role_required
@allowed(ensure_may_keep_register)
def register_page(request: HttpRequest, reference: str) -> HttpResponse:
    """The register, a keyset page at a time (``?after=<id>``), its details opened for the
    reader and the read recorded, as the API's list does."""
    incident = incident_for(request, reference)
    after = request.GET.get("after", "")
    people = people_of(incident)
    if after.isdigit():
        people = people.filter(pk__gt=int(after))
    rows = list(people[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    try:
        shown = open_people(rows[:PAGE_SIZE])
    except DomainError as error:  # no configured key opens a row: 503, said plainly
        return error_page(request, error.status, error.detail)
    ids = f"{shown[0].pk}-{shown[-1].pk}" if shown else "none"
    record_access(request, incident, AccessKind.REGISTER_READ, f"register:{ids}")
    context = {
        "incident": incident,
        "people": shown,
        "next_after": shown[-1].pk if more else None,
        "first_page": not after,
    }
    return render(request, "frontend/register.html", context)
