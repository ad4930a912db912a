"""Which incidents a list shows: one FilterSet for the API's list and the pages' list, so both
read the same filters the same way (``?state=&severity=&search=&ordering=``)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from core.formats import ascii_digits
from incidents.choices import Severity, State
from incidents.models import Incident
from incidents.models.search import title_or_reference

# Sorts a list offers, with the labels the page shows; each also descending ("-detected_at").
ORDERINGS = {
    "detected_at": _("Detection time"),
    "updated_at": _("Last change"),
    "reference": _("Reference"),
    "state": _("State"),
    "severity": _("Severity"),
    "aware_at": _("Awareness time"),
    "created_at": _("Logged at"),
    "ref_number": _("Reference number"),
}
# What a reference sorts by: its year, then its number (a string would put 10000 before 9999).
_SORT_KEYS = {"reference": ("ref_year", "ref_number"), "ref_number": ("ref_year", "ref_number")}


class IncidentOrdering(django_filters.OrderingFilter):
    """Sorts by the chosen fields, then by reference, newest first: ties (many incidents
    detected in one minute) keep one order from page to page."""

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        keys: list[str] = []
        for param in value or ():
            descending, name = param.startswith("-"), self.param_map[param.lstrip("-")]
            keys += [f"-{k}" if descending else k for k in _SORT_KEYS.get(name, (name,))]
        return qs.order_by(*keys, "-ref_year", "-ref_number") if keys else qs


class IncidentFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(label=_("Search"), method="filter_search", max_length=200)
    state = django_filters.MultipleChoiceFilter(label=_("State"), choices=State.choices)
    severity = django_filters.MultipleChoiceFilter(label=_("Severity"), choices=Severity.choices)
    ordering = IncidentOrdering(
        label=_("Sort"), fields={f: f for f in ORDERINGS}, field_labels=ORDERINGS
    )

    class Meta:
        model = Incident
        fields = ["search", "state", "severity"]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """The title, or the reference typed in any digits ("inc-۲۰۲۶-۰۰۰۷" too)."""
        return queryset.filter(title_or_reference(value, ascii_digits(value).upper()))
