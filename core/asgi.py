"""ASGI root: HTTP goes to Django; websockets pass the origin check, then the stream's
authentication (session cookie or ``Authorization: Token``), then the stream's routes."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
# Set Django up before importing anything that touches models.
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from core.request_threads import RequestThreadsHandler  # noqa: E402
from incidents.routing import websocket_application  # noqa: E402
from incidents.upload_limit import BodyLimit  # noqa: E402

# Django's handler (what get_asgi_application() returns), on reused request threads.
django_application = RequestThreadsHandler(settings.WEB_REQUEST_THREADS)

application = ProtocolTypeRouter(
    {
        # Oversized bodies are refused before Django spools them to disk (docs/legal.md).
        "http": BodyLimit(django_application),
        "websocket": AllowedHostsOriginValidator(websocket_application()),
    }
)

if settings.WEB_GC_TUNING:
    # The stream's latency tail is mostly collector pauses walking the start-up heap (Django,
    # DRF, models): freeze it out of every collection, and collect young objects less often.
    # Measured in bench/README.md ("Live stream").
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
