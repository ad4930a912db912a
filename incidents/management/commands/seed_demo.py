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

DEMO_USERS = (
    ("admin", ADMIN),
    ("engineer", ENGINEER),
    ("legal", LEGAL),
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
        eng, legal = users["engineer"], users["legal"]
        now = timezone.now()
        inc, _ = create_incident(
            actor=eng,
            data={
                "title": "Suspicious logins on the customer portal",
                "summary": "Spike of failed then successful logins from a small IP range.",
                "severity": "high",
                "detected_at": now - timedelta(minutes=40),
            },
        )
        apply_transition(inc, "start_scoping", actor=eng)

        create_incident(
            actor=eng,
            data={
                "title": "Malware alert on a warehouse laptop",
                "severity": "medium",
                "detected_at": now - timedelta(minutes=12),
            },
        )

        inc, _ = create_incident(
            actor=eng,
            data={
                "title": "Order database exposed by a misconfigured backup bucket",
                "summary": "Backup bucket at the storage provider was world-readable for 3 days.",
                "severity": "critical",
                "detected_at": now - timedelta(hours=30),
            },
        )
        self._scope(inc, eng, "misconfiguration", ["identity", "contact", "postal_address"], 18000)
        apply_transition(inc, "start_restoration", actor=eng)

        inc, _ = create_incident(
            actor=eng,
            data={
                "title": "Phishing campaign against support staff",
                "severity": "high",
                "detected_at": now - timedelta(days=4),
            },
        )
        self._scope(inc, eng, "phishing", ["credentials"], 0)
        apply_transition(inc, "start_restoration", actor=eng)
        apply_transition(
            inc,
            "mark_restored",
            actor=eng,
            payload={
                "restoration_summary": "Passwords reset, MFA enforced, mailbox rules removed."
            },
        )
        apply_transition(
            inc,
            "refer",
            actor=legal,
            payload={
                "authority": "cyber_police",
                "authority_name": "FATA",
                "submitted_at": now - timedelta(days=1),
                "case_number": "FATA-1405-221",
            },
        )

        inc, _ = create_incident(
            actor=eng,
            data={
                "title": "Port scan from a cloud host",
                "severity": "low",
                "detected_at": now - timedelta(days=2),
            },
        )
        apply_transition(inc, "dismiss", actor=eng, payload={"reason": "Routine scan, blocked."})

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
