"""URL root: the only place (with asgi.py) that wires the apps together."""

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import health
from core.admin_login import admin_login
from core.api import tokens
from notifier import urls as notifier_urls

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Ahead of the admin's own routes: its sign-in goes through the one limiter (core/signin.py).
    path("admin/login/", admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # A page for people: an anonymous browser is sent to sign in, then comes back.
    path(
        "api/docs/",
        # The split view serves Swagger UI's start-up script as a file: no inline script, so
        # the page works under a script-src 'self' policy (core/third_party_csp.py).
        login_required(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("api/auth/token/", tokens.TokenView.as_view(), name="api-token"),
    path("api/auth/logout/", tokens.LogoutView.as_view(), name="api-logout"),
    path("api/me/tokens/", tokens.MyTokensView.as_view(), name="api-my-tokens"),
    path("api/me/tokens/<int:pk>/", tokens.MyTokenView.as_view(), name="api-my-token"),
    path("api/", include("incidents.api.urls")),
    # Pages last: their patterns (e.g. "incidents/<reference>/") must not shadow the roots above.
    path("", include("frontend.urls")),
    path("api/", include(notifier_urls.api_urlpatterns)),
    path("", include(notifier_urls.webhook_urlpatterns)),
]

handler400 = "core.api.http.bad_request"
handler404 = "core.api.http.not_found"
handler500 = "core.api.http.server_error"
