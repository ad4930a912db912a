"""Demo users (one per role) and realistic incidents, created once, through the domain functions."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from core.roles import ADMIN, ENGINEER, EXECUTIVE, LEGAL
from incidents.lifecycle import apply_transition, create_incident, update_incident
from incidents.workspace.tasks import set_task_done

# Two legal accounts: a notice to the people affected needs a second person to approve it
# (four eyes), which the README's walkthrough of notices shows.
DEMO_USERS = (
    ("admin", ADMIN),
    ("engineer", ENGINEER),
    ("legal", LEGAL),
    ("legal2", LEGAL),
    ("executive", EXECUTIVE),
)


class Command(BaseCommand):
    help = "Create demo users and incidents on first run; prints the passwords once."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.filter(username="engineer").exists():
            self.stdout.write("Demo data already present (passwords were printed on first run).")
            return
        with transaction.atomic():
            passwords = {name: self._user(name, role) for name, role in DEMO_USERS}
            users = {name: User.objects.get(username=name) for name, _ in DEMO_USERS}
            self._incidents(users)
        lines = ["", "Demo accounts (shown once; not stored anywhere):"]
        lines += [f"  {'user':<10} {'role':<10} password"]
        lines += [f"  {name:<10} {role:<10} {passwords[name]}" for name, role in DEMO_USERS]
        self.stdout.write("\n".join(lines) + "\n")

    def _user(self, name: str, role: str) -> str:
        password = secrets.token_urlsafe(12)
        user = get_user_model().objects.create_user(username=name, password=password)
        if role == ADMIN:
            user.is_staff = user.is_superuser = True
            user.save()
        else:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return password

    def _incidents(self, users: dict[str, Any]) -> None:
        """A few incidents in different stages, each driven there by the domain functions."""
        eng, legal, now = users["engineer"], users["legal"], timezone.now()
        restored = "Passwords reset, MFA enforced, mailbox rules removed."
        referral = {
            "authority": "cyber_police",
            "authority_name": "FATA",
            "submitted_at": now - timedelta(days=1),
            "case_number": "FATA-1405-221",
        }
        # (title, summary, severity, detected before now, scope, then steps: (name, actor, payload))
        stories = [
            (
                "Suspicious logins on the customer portal",
                "Spike of failed then successful logins from a small IP range.",
                "high",
                timedelta(minutes=40),
                None,
                [("start_scoping", eng, {})],
            ),
            ("Malware alert on a warehouse laptop", "", "medium", timedelta(minutes=12), None, []),
            (
                "Order database exposed by a misconfigured backup bucket",
                "Backup bucket at the storage provider was world-readable for 3 days.",
                "critical",
                timedelta(hours=30),
                ("misconfiguration", ["identity", "contact", "postal_address"], 18000),
                [("start_restoration", eng, {})],
            ),
            (
                "Phishing campaign against support staff",
                "",
                "high",
                timedelta(days=4),
                ("phishing", ["credentials"], 0),
                [
                    ("start_restoration", eng, {}),
                    ("mark_restored", eng, {"restoration_summary": restored}),
                    ("refer", legal, referral),
                ],
            ),
            (
                "Port scan from a cloud host",
                "",
                "low",
                timedelta(days=2),
                None,
                [("dismiss", eng, {"reason": "Routine scan, blocked."})],
            ),
        ]
        for title, summary, severity, ago, scope, steps in stories:
            data = {"title": title, "summary": summary, "severity": severity}
            inc, _ = create_incident(actor=eng, data={**data, "detected_at": now - ago})
            if scope is not None:
                self._scope(inc, eng, *scope)
            for name, actor, payload in steps:
                if name in ("start_restoration", "mark_restored"):
                    self._do_required_tasks(inc, eng, second=users["admin"])
                inc, _ = apply_transition(inc, name, actor=actor, payload=payload)

    def _do_required_tasks(self, inc: Any, eng: Any, second: Any) -> None:
        """The runbook's required tasks gate the phase's end: the engineer does them, another
        person (the admin) confirms the fix, as a second engineer must."""
        for task in inc.tasks.required_open().order_by("confirms", "id"):
            set_task_done(task, actor=second if task.confirms else eng)

    def _scope(self, inc: Any, eng: Any, vector: str, cats: list[str], subjects: int) -> None:
        inc, _ = apply_transition(inc, "start_scoping", actor=eng)
        update_incident(
            inc,
            actor=eng,
            changes={
                "attack_vector": vector,
                "data_categories": cats,
                "affected_systems": [{"name": "shop-db", "hosting": "provider"}],
                "affected_subjects_estimate": subjects,
            },
        )
