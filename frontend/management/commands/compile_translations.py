"""Build locale/*/LC_MESSAGES/django.mo from the .po files with polib, so a fresh machine needs
no gettext tools from the OS (Django's compilemessages shells out to msgfmt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management.base import BaseCommand


def compile_all(paths: list[Path] | None = None) -> list[Path]:
    """Compile every .po under the locale paths whose .mo is missing or older; return the .mo's."""
    built = []
    for root in paths or [Path(p) for p in settings.LOCALE_PATHS]:
        for po_path in sorted(Path(root).glob("*/LC_MESSAGES/*.po")):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
            built.append(mo_path)
    return built


class Command(BaseCommand):
    help = "Compile the .po translations to .mo (no gettext install needed)."

    def handle(self, *args: Any, **options: Any) -> None:
        built = compile_all()
        self.stdout.write(f"compiled {len(built)} translation file(s)")
