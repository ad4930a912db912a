"""manage.py adduser NAME --role engineer [--password-stdin]"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.roles import ADMIN, GROUP_ROLES


class Command(BaseCommand):
    help = "Create a user with a Breach Desk role (engineer, legal, executive or admin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[*GROUP_ROLES, ADMIN])
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )

    def handle(self, *args: Any, username: str, role: str, email: str, **opts: Any) -> None:
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"user {username!r} already exists")
        password = self._read_password(opts["password_stdin"])
        try:
            validate_password(password, User(username=username, email=email))
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
            if role == ADMIN:
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
            else:
                user.groups.add(Group.objects.get_or_create(name=role)[0])
        self.stdout.write(f"created {username} ({role})")

    def _read_password(self, from_stdin: bool) -> str:
        if from_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("passwords do not match")
        if not password:
            raise CommandError("empty password")
        return password
