"""Following an incident: its transitions reach you even when you are not its commander."""

from __future__ import annotations

from typing import Any

from incidents.models import Incident
from notifier.models import Subscription


def follow(user: Any, incident: Incident) -> bool:
    """Returns whether a new subscription was made (following twice is not an error)."""
    return Subscription.objects.get_or_create(user=user, incident=incident)[1]


def unfollow(user: Any, incident: Incident) -> bool:
    return Subscription.objects.filter(user=user, incident=incident).delete()[0] > 0


def followed_references(user: Any) -> list[str]:
    return list(
        Subscription.objects.filter(user=user)
        .order_by("-created_at")
        .values_list("incident__reference", flat=True)
    )
