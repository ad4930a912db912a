"""URL root: the only place (with asgi.py) that wires the apps together."""

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import health
from notifier import urls as notifier_urls

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # A page for people: an anonymous browser is sent to sign in, then comes back.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("api/", include("incidents.api.urls")),
    # Pages last: their patterns (e.g. "incidents/<reference>/") must not shadow the roots above.
    path("", include("frontend.urls")),
    path("api/", include(notifier_urls.api_urlpatterns)),
    path("", include(notifier_urls.webhook_urlpatterns)),
]

handler400 = "core.api.http.bad_request"
handler404 = "core.api.http.not_found"
handler500 = "core.api.http.server_error"
