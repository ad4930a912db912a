"""Post/Redirect/Get for refused forms (the incident page's, the new incident's). A refused
form used to be answered by the page itself at the form's POST address, so a reload sent the
form again and the address bar showed an URL with no page of its own. Now the view's answer is
kept in the session, the browser is sent (303) to the form's page, and that page shows it once:
what the person typed, the errors on their fields and a summary at the top.

Forms are kept as their submitted data and errors, with the place they had in the page's
context (a key, or keys and list positions for the documents' forms). The page builds its fresh
forms as always and binds the one at that place again, so each form keeps the arguments only
the page knows (an incident's evidence, its data categories)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils.functional import Promise

SESSION_KEY = "frontend.kept_forms"
# Where the browser lands after a refused form: the summary (partials/error_summary.html).
SUMMARY_ID = "error-summary"
# The POST's token is not typed by anyone, and a fresh one is in the page's forms.
NOT_KEPT = {"csrfmiddlewaretoken"}

Path = tuple[str | int, ...]


class SeeOther(HttpResponseRedirect):
    """303: the browser follows with a GET whatever the method was (302 leaves it open)."""

    status_code = 303


def _forms_in(value: Any, path: Path) -> Iterator[tuple[Path, forms.BaseForm]]:
    if isinstance(value, forms.BaseForm):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str | int):
                yield from _forms_in(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _forms_in(item, (*path, index))


def _plain(value: Any) -> Any:
    """A value the session (JSON) keeps as it is, or None when the page recomputes it."""
    if isinstance(value, Promise):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return None


def _kept_form(path: Path, form: forms.BaseForm) -> dict[str, Any]:
    # A form may name fields the session must not hold (a person's address, a one-time code).
    dropped = NOT_KEPT | set(getattr(form, "not_kept", ()))
    data = {k: _values(form.data, k) for k in form.data if k not in dropped}
    errors = {field: [str(e["message"]) for e in found] for field, found in _errors(form).items()}
    return {"path": list(path), "data": data, "errors": errors}


def _values(data: Any, key: str) -> list[str]:
    """A key's values as a list, from a QueryDict (a POST) or a plain dict."""
    if hasattr(data, "getlist"):
        return [str(v) for v in data.getlist(key)]
    value = data[key]
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _errors(form: forms.BaseForm) -> dict[str, list[dict[str, Any]]]:
    return form.errors.get_json_data() if form.is_bound else {}


def keep(request: HttpRequest, page: str, extra: dict[str, Any]) -> None:
    """Keep the view's answer for the next GET of ``page`` (a path)."""
    kept_forms = [_kept_form(p, f) for p, f in _forms_in(extra, ()) if f.is_bound]
    values = {k: _plain(v) for k, v in extra.items() if _plain(v) is not None}
    request.session[SESSION_KEY] = {"page": page, "values": values, "forms": kept_forms}


def back_to(request: HttpRequest, page: str, extra: dict[str, Any]) -> SeeOther:
    """303 to ``page`` at the error summary: the browser focuses a focusable fragment target
    itself (so the summary is read first even without script), and the summary links to each
    field in error."""
    keep(request, page, extra)
    return SeeOther(f"{page}#{SUMMARY_ID}")


def back_to_page(request: HttpRequest, reference: str, extra: dict[str, Any]) -> SeeOther:
    """``back_to`` the incident page."""
    return back_to(request, reverse("frontend:incident", args=[reference]), extra)


def take(request: HttpRequest, page: str) -> dict[str, Any] | None:
    """What a refused form left for ``page``, once: a second reload is clean."""
    kept = request.session.get(SESSION_KEY)
    if not kept:
        return None
    del request.session[SESSION_KEY]
    return kept if kept.get("page") == page else None


def kept_values(request: HttpRequest, page: str) -> dict[str, Any]:
    """The plain values (a message, which transition failed) kept for ``page``, to build its
    context with; ``show_kept`` then binds the forms and ends the keeping."""
    kept = request.session.get(SESSION_KEY) or {}
    return kept.get("values", {}) if kept.get("page") == page else {}


def show_kept(request: HttpRequest, page: str, context: dict[str, Any]) -> dict[str, Any]:
    """``context`` (the page's fresh one, built with ``values`` of what was kept) with the kept
    forms bound again and the error summary (``form_errors``, base.html) when there is one."""
    kept = take(request, page)
    if kept:
        bound = rebind(context, kept)
        context["form_errors"] = summary(bound, context.get("error"))
    return context


def rebind(context: dict[str, Any], kept: dict[str, Any]) -> list[forms.BaseForm]:
    """Bind the page's fresh forms at the kept places to the kept data and errors; returns
    them, for the summary."""
    bound = []
    for entry in kept["forms"]:
        form = _at(context, entry["path"])
        if form is None:
            continue  # gone meanwhile (a document issued): the summary still says why
        data = QueryDict(mutable=True)
        for key, values in entry["data"].items():
            data.setlist(key, values)
        form.is_bound, form.data = True, data
        # The errors are the ones the view found, not a second validation's: a file is not
        # kept (a dry run's valid file form would say "required"), a domain refusal is not
        # the form's own.
        form.full_clean()
        form.errors.clear()
        for field, messages in entry["errors"].items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
        bound.append(form)
    return bound


def _at(context: dict[str, Any], path: list[str | int]) -> forms.BaseForm | None:
    value: Any = context
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return None
    return value if isinstance(value, forms.BaseForm) else None


def summary(bound: list[forms.BaseForm], message: str | None) -> dict[str, Any] | None:
    """The error summary at the top of the page: the refusal's message and a link to every
    field in error, in the order of the forms."""
    links = []
    general = [message] if message else []
    for form in bound:
        for name, errors in form.errors.items():
            if name in form.fields and not form[name].is_hidden:
                field = form[name]
                links.append({"id": field.id_for_label, "label": field.label, "errors": errors})
            else:
                general.extend(str(e) for e in errors if str(e) not in general)
    if not links and not general:
        return None
    return {"general": general, "links": links}
