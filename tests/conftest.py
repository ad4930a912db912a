"""Shared fixtures: users per role, authenticated API clients, incidents built through the
domain functions (STYLE.md rule 13), and service probes that skip cleanly when a real
PostgreSQL or Redis is absent (and fail instead when BREACH_DESK_REQUIRE_SERVICES=1, as in CI);
and the compiled translations every run needs."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import ApiToken
from incidents.lifecycle import apply_transition, create_incident, update_incident

REQUIRE_SERVICES = os.environ.get("BREACH_DESK_REQUIRE_SERVICES") == "1"
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session", autouse=True)
def compiled_translations() -> None:
    """`make test` compiles the catalogues first; a bare pytest run on a fresh clone has none.
    Django caches each language's catalogue on first use, which collecting the tests may already
    have done without ours, so the caches are dropped after compiling (as Django's own
    LOCALE_PATHS setting_changed receiver does)."""
    from django.utils.translation import trans_real

    from frontend.management.commands.compile_translations import compile_all

    compile_all()
    trans_real._translations = {}
    trans_real._default = None
    trans_real.translation_catalog_exists.cache_clear()


@pytest.fixture(autouse=True)
def own_cache_namespace(settings: Any) -> None:
    """Each test its own key prefix in the shared cache: one test's sign-in counters never reach
    the next, on Redis as on the database cache, and no test clears a cache that parallel runs
    on the same Redis share. (Django drops its cache connections when CACHES changes.)"""
    settings.CACHES = {
        name: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
        for name, config in settings.CACHES.items()
    }


def just_now() -> str:
    """The current moment as an API client writes it: a referral submitted or answered in a
    test is submitted after the test's incident was detected, as the domain requires."""
    return timezone.now().isoformat()


def _skip_or_fail(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (BREACH_DESK_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


def is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture
def require_postgres() -> None:
    if not is_postgres():
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://... (CI runs this)")


def redis_url() -> str | None:
    return os.environ.get("REDIS_URL") or None


def tcp_open(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def require_redis() -> str:
    url = redis_url()
    if not url:
        pytest.skip("needs Redis: set REDIS_URL=redis://... (CI runs this)")
    if not tcp_open(url):
        _skip_or_fail(f"Redis at {url} is not reachable")
    return url


def make_user(username: str, role: str | None) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD)
    if role == "admin":
        user.is_staff = user.is_superuser = True
        user.save()
    elif role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def users(db: Any) -> dict[str, User]:
    return {
        role: make_user(role, None if role == "norole" else role)
        for role in ("engineer", "legal", "executive", "admin", "norole")
    }


@pytest.fixture
def engineer(users: dict[str, User]) -> User:
    return users["engineer"]


@pytest.fixture
def legal(users: dict[str, User]) -> User:
    return users["legal"]


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        _token, key = ApiToken.issue(user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def api(users: dict[str, User]) -> Callable[[str], APIClient]:
    """api("engineer") -> a client authenticated with that role's token."""
    return lambda role: client_for(users[role])


SCOPE = {
    "attack_vector": "phishing",
    "affected_systems": [{"name": "shop-db", "hosting": "own"}],
    "affected_subjects_estimate": 120,
    "data_categories": ["contact", "identity"],
}

# The shortest path from detection to each state, as (transition, payload, role).
PATH = {
    "detected": [],
    "scoping": [("start_scoping", {}, "engineer")],
    "restoring": [
        ("start_scoping", {}, "engineer"),
        ("scope", SCOPE, "engineer"),
        # Required runbook tasks gate the phase's end (issue 20): done through the domain.
        ("tasks", {}, "engineer"),
        ("start_restoration", {}, "engineer"),
    ],
}
PATH["restored"] = PATH["restoring"] + [
    ("tasks", {}, "engineer"),
    ("mark_restored", {"restoration_summary": "Patched and rotated keys."}, "engineer"),
]
PATH["referred"] = PATH["restored"] + [
    # A callable payload is built when the step runs: a referral is submitted after detection.
    ("refer", lambda: {"authority": "cyber_police", "submitted_at": just_now()}, "legal")
]
# Closing a high or critical incident needs a finished post-incident review (issue 20).
PATH["closed"] = PATH["referred"] + [("review", {}, "engineer"), ("close", {}, "legal")]
PATH["dismissed"] = [("dismiss", {"reason": "false positive"}, "engineer")]


def finish_review(incident: Any, actor: User, root_cause: str = "A phishing mail.") -> Any:
    """Write and finish the incident's post-incident review through its domain function, as
    closing a high or critical incident needs (settings.REVIEW_REQUIRED_SEVERITIES)."""
    from incidents.workspace.review import review_of, save_review

    written = review_of(incident)
    review, _event = save_review(
        incident.reference,
        actor=actor,
        root_cause=root_cause,
        went_well=written.went_well,
        went_badly=written.went_badly,
        finished=True,
    )
    return review


def complete_required_tasks(incident: Any, actor: User, second: User | None = None) -> None:
    """Mark the incident's open required tasks done through the domain, as ending a phase
    needs: ``actor`` does the work, ``second`` (another user; an admin if not given) confirms
    the fix, as a second engineer must (settings.RESTORE_NEEDS_SECOND_ENGINEER)."""
    from incidents.workspace.tasks import set_task_done

    if second is None:
        second = User.objects.filter(is_superuser=True).exclude(pk=actor.pk).first()
        second = second or make_user(f"second-{uuid.uuid4().hex[:8]}", "admin")
    for task in incident.tasks.required_open().order_by("confirms", "id"):
        set_task_done(task, actor=second if task.confirms else actor)


def complete_required_tasks_over_http(
    client: APIClient, second: APIClient, reference: str
) -> list[dict]:
    """The same over the API: PATCH ``{"done": true}`` on each open required task, a fix's
    confirmation by ``second``'s client. The tasks done, as the API answered."""
    done = []
    tasks = client.get(f"/api/incidents/{reference}/tasks/").json()
    for task in sorted(tasks, key=lambda t: (t["confirms"], t["id"])):
        if task["required"] and not task["done"]:
            by = second if task["confirms"] else client
            url = f"/api/incidents/{reference}/tasks/{task['id']}/"
            answer = by.patch(url, {"done": True}, format="json")
            assert answer.status_code == 200, answer.json()
            done.append(answer.json())
    return done


@pytest.fixture
def incident_in(users: dict[str, User]) -> Callable[..., Any]:
    """incident_in("restored") -> an incident driven there through the real domain functions."""

    from rest_framework.fields import DateTimeField

    def moments(values: dict[str, Any]) -> dict[str, Any]:
        """The domain takes parsed values, as the API's serializers hand them over."""
        return {
            key: DateTimeField().to_internal_value(value)
            if key in ("detected_at", "aware_at", "submitted_at") and isinstance(value, str)
            else value
            for key, value in values.items()
        }

    def build(state: str, **fields: Any) -> Any:
        data = moments({"title": "Leaked backup", "severity": "high", **fields})
        incident, _ = create_incident(actor=users["engineer"], data=data)
        for name, payload, role in PATH[state]:
            if name == "scope":
                incident, _ = update_incident(incident, actor=users[role], changes=payload)
            elif name == "tasks":
                complete_required_tasks(incident, users[role], second=users["admin"])
            elif name == "review":
                finish_review(incident, users[role])
            else:
                payload = moments(payload() if callable(payload) else payload)
                incident, _ = apply_transition(incident, name, actor=users[role], payload=payload)
        return incident

    return build
