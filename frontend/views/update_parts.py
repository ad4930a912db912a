"""What the incident page shows of status updates (incidents/workspace/updates.py): the newest
update with its author and time, when the next one is owed (or that it is overdue), the earlier
ones, the form to post one, and the Follow/Unfollow control. Used by the incident page
(frontend/views/workspace.py); a constant number of queries whatever the number of updates."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from frontend.update_forms import StatusUpdateForm
from incidents.choices import TERMINAL_STATES
from incidents.models import Incident
from incidents.workspace.updates import is_overdue, may_post_updates, updates_of
from notifier.models import ChatLink, Subscription

# Earlier updates listed under the newest; every one is also on the timeline.
EARLIER_SHOWN = 10


def status_update_part(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    """The section's context; a refused form comes back through the page's ``extra``."""
    user = request.user
    now = timezone.now()
    updates = list(updates_of(incident)[: EARLIER_SHOWN + 1])
    may_post = may_post_updates(user) and incident.state not in TERMINAL_STATES
    return {
        "status_latest": updates[0] if updates else None,
        "status_earlier": updates[1:],
        "status_now": now,
        # A closed or dismissed incident owes none (its due time is cleared at closing anyway).
        "status_next_due": None if incident.state in TERMINAL_STATES else incident.next_update_at,
        "update_overdue": is_overdue(incident, now),
        "may_post_update": may_post,
        "status_update_form": StatusUpdateForm() if may_post else None,
        "following": Subscription.objects.filter(user=user, incident=incident).exists(),
        "chat_linked": ChatLink.objects.active().filter(user=user).exists(),
    }
