"""Building CSV files and sending them to the register's import, as legal would."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

HEADER = ("customer_id", "name", "email", "mobile", "language")
# Three people as a shop's export might list them: Persian digits, +98 and 0098 forms.
PEOPLE = [
    ("C-1001", "علی رضایی", "Ali.Rezaei@Example.COM", "۰۹۱۲ ۱۲۳ ۴۵۶۷", "fa"),
    ("C-1002", "Sara Ahmadi", "sara@example.org", "+98 912 765 4321", "EN"),
    ("C-1003", "", "", "0098-935-111-2233", ""),
]


def csv_bytes(
    rows: Iterable[Sequence[str]], header: Sequence[str] = HEADER, *, bom: bool = False
) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8")


def import_csv(
    api: Any,
    reference: str,
    content: bytes,
    *,
    role: str = "legal",
    dry_run: str | None = None,
    name: str = "people.csv",
) -> Any:
    url = f"/api/incidents/{reference}/affected-people/import/"
    if dry_run is not None:
        url += f"?dry_run={dry_run}"
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    return api(role).post(url, {"file": upload}, format="multipart")


def register_url(reference: str) -> str:
    return f"/api/incidents/{reference}/affected-people/"


def listed(api: Any, reference: str, role: str = "legal") -> list[dict[str, Any]]:
    """Every person of the register, following the cursor pages."""
    people, url = [], register_url(reference)
    while url:
        response = api(role).get(url)
        assert response.status_code == 200, response.content
        people += response.json()["results"]
        url = response.json()["next"]
    return people
