"""Queries on the hottest write path, compiled once instead of on every call.

Django turns a queryset into SQL each time it runs it, and writes rows through ``save()``, which
does the same for an INSERT or UPDATE. For the lifecycle endpoint that bookkeeping cost more than
the database work itself: locking and loading an incident with its two people (some 50 columns)
took 0.5 ms to compile and 0.05 ms to run (bench/README.md, "Transitions"). What is here keeps
Django's own compiler, converters and ``Model.from_db``, and only stops repeating them:

- ``PreparedQuery`` compiles a queryset once per database and runs the SQL with new values;
- ``insert_row`` / ``update_row`` write one instance's columns, prepared by its own fields.

Neither sends ``pre_save``/``post_save`` signals or fills ``auto_now`` fields: the callers are
domain functions that set every column they write (STYLE.md: no logic in signals or ``save()``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, Generic, TypeVar

from django.db import DatabaseError, connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)

MARKER = "\x00prepared-query-value\x00"


class PreparedQuery(Generic[M]):
    """A one-row queryset shape, compiled to SQL once per database and run with new values.

    ``build(value)`` returns the queryset for one value, filtered by an exact lookup on it. It is
    called once per database, with ``marker`` standing in for the value (give a marker of the
    value's type and range, e.g. ``1`` for a positive integer column); the compiled SQL then runs
    with each real value, which goes to the database as given (so: exact lookups only, with values
    of the column's type), and its row becomes a model instance exactly as ``QuerySet.get()``
    would build it, ``select_related`` included.

    A queryset using ``select_for_update`` must be run inside ``transaction.atomic()``, as it
    always must.
    """

    def __init__(self, build: Callable[[Any], QuerySet[M]], *, marker: Any = MARKER) -> None:
        self._build = build
        self._marker = marker
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def get(self, value: Any, *, using: str = "default") -> M | None:
        """The one row for ``value`` as an instance, or None. More than one row is an error,
        as with ``QuerySet.get()``."""
        compiled = self._compiled_for(using)
        if compiled.locks and connections[using].get_autocommit():
            # Django checks this when it compiles; this query compiles only once.
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(compiled.params)
        params[compiled.slot] = value
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchmany(2)
        if len(rows) > 1:
            raise compiled.model.MultipleObjectsReturned(f"{compiled.model.__name__}: {value!r}")
        return compiled.instance(rows[0], using) if rows else None

    def _compiled_for(self, using: str) -> _Compiled:
        key = (using, connections[using].vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            queryset = self._build(self._marker)
            compiled = self._compiled[key] = _Compiled(queryset, using, self._marker)
        return compiled


class _Compiled:
    """What ``ModelIterable`` derives from a compiler, kept: SQL, converters, populators."""

    def __init__(self, queryset: QuerySet, using: str, marker: Any) -> None:
        if queryset._known_related_objects or queryset.query.annotation_select:
            raise ValueError("PreparedQuery supports plain and select_related querysets only")
        compiler = queryset.query.get_compiler(using=using)
        self.sql, params = compiler.as_sql()
        self.params = tuple(params)
        slots = [i for i, param in enumerate(self.params) if param == marker]
        if len(slots) != 1:
            raise ValueError(f"the marker must appear once in the query's parameters: {params}")
        self.slot = slots[0]
        self.model = queryset.model
        self.locks = queryset.query.select_for_update
        select, klass_info = compiler.select, compiler.klass_info
        # Kept without the compiler: it holds the compiling thread's connection.
        self.converters = list(compiler.get_converters([c for c, _, _ in select]).items())
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.model_slice = slice(start, end)
        self.init_list = [column.target.attname for column, _, _ in select[start:end]]
        self.populators = get_related_populators(klass_info, select, using)

    def instance(self, row: tuple, using: str) -> Model:
        if self.converters:  # as SQLCompiler.apply_converters does, with this thread's connection
            connection = connections[using]
            row = list(row)
            for pos, (converters, expression) in self.converters:
                for convert in converters:
                    row[pos] = convert(row[pos], expression, connection)
        obj = self.model.from_db(using, self.init_list, row[self.model_slice])
        for populator in self.populators:
            populator.populate(row, obj)
        return obj


def insert_row(instance: Model, *, using: str = "default") -> None:
    """INSERT the instance's columns (its auto primary key excepted) and set that key from the
    database. The instance then counts as saved (``_state.adding`` is False)."""
    meta = instance._meta
    connection = connections[using]
    fields = [f for f in meta.concrete_fields if f is not meta.auto_field]
    values = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(type(instance), using, connection.vendor), values)
        if meta.auto_field is not None:
            setattr(instance, meta.auto_field.attname, cursor.fetchone()[0])
    instance._state.adding = False
    instance._state.db = using


def update_row(instance: Model, names: Iterable[str], *, using: str = "default") -> None:
    """UPDATE just these fields of the instance's row, like ``save(update_fields=...)``."""
    meta = instance._meta
    connection = connections[using]
    fields = [meta.get_field(name) for name in names]
    values = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    sql = _update_sql(type(instance), tuple(f.column for f in fields), using, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, instance.pk])
        if cursor.rowcount != 1:
            raise DatabaseError(f"{meta.label} {instance.pk}: update affected {cursor.rowcount}")


@cache
def _insert_sql(model: type[Model], using: str, vendor: str) -> str:
    meta = model._meta
    quote = connections[using].ops.quote_name
    fields = [f for f in meta.concrete_fields if f is not meta.auto_field]
    columns = ", ".join(quote(f.column) for f in fields)
    returning = f" RETURNING {quote(meta.auto_field.column)}" if meta.auto_field else ""
    placeholders = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}){returning}"


@cache
def _update_sql(model: type[Model], columns: tuple[str, ...], using: str, vendor: str) -> str:
    meta = model._meta
    quote = connections[using].ops.quote_name
    sets = ", ".join(f"{quote(column)} = %s" for column in columns)
    return f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {quote(meta.pk.column)} = %s"
