"""ASGI root: HTTP goes to Django; websockets pass the origin check, then the stream's
authentication (session cookie or ``Authorization: Token``), then the stream's routes."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
# Django is set up here, before anything that touches models is imported.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from core.gc_tuning import freeze_startup_heap  # noqa: E402
from core.request_threads import DaemonRequestThreads  # noqa: E402
from incidents.legal.upload_limit import BodyLimit  # noqa: E402
from incidents.stream.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Oversized bodies are refused before Django spools them to disk (docs/legal.md); a
        # request's sync work runs on a daemon thread, so SIGTERM ends the process at once.
        "http": BodyLimit(DaemonRequestThreads(django_application)),
        "websocket": AllowedHostsOriginValidator(websocket_application()),
    }
)

if settings.WEB_GC_TUNING:
    freeze_startup_heap()
