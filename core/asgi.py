"""ASGI root: HTTP goes to Django; websockets pass the origin check (core/ws_origin.py),
then the stream's authentication (session cookie or ``Authorization: Token``), then its routes."""

import os

from asgiref.wsgi import WsgiToAsgi
from django.core.wsgi import get_wsgi_application

from core.wsgi_close import closing_responses

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
# Django is set up here, before anything that touches models is imported. HTTP runs Django's
# synchronous handler through asgiref's WsgiToAsgi: the middleware chain and the view run in one
# trip to a request thread. Django's ASGI handler would build an async chain around our
# sync-only middleware (WhiteNoise's, ours), hopping between the event loop and the thread at
# every boundary: about half of a light request's CPU (bench/README.md, issue 16). WsgiToAsgi
# never closes the response, which is where Django ends a request (core/wsgi_close.py).
django_application = WsgiToAsgi(closing_responses(get_wsgi_application()))

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from core.gc_tuning import freeze_startup_heap  # noqa: E402
from core.request_threads import RequestThreads  # noqa: E402
from core.ws_origin import SameOriginValidator  # noqa: E402
from frontend.live import websocket_urlpatterns as dashboard_routes  # noqa: E402
from incidents.legal.upload_limit import BodyLimit  # noqa: E402
from incidents.stream.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Oversized bodies are refused before Django spools them to disk (docs/legal.md); a
        # request's sync work runs on one of a few daemon threads (SIGTERM ends the process at
        # once; core/request_threads.py).
        "http": BodyLimit(RequestThreads(django_application, settings.WEB_REQUEST_THREADS)),
        # Origin must be this site (scheme, host and port) or a trusted origin (core/ws_origin.py).
        # The dashboard's socket is the stream plus its shared panels (frontend/live.py).
        "websocket": SameOriginValidator(websocket_application(*dashboard_routes)),
    }
)

if settings.WEB_GC_TUNING:
    freeze_startup_heap()
