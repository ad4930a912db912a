"""ASGI root: HTTP goes to Django. The live-stream issue adds the websocket routes here."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
application = get_asgi_application()
