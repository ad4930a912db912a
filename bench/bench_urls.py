from django.http import JsonResponse
from django.urls import include, path


def bare(request):  # bench/dashboard.py's baseline: no auth, no database, same middleware
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare/", bare), path("", include("core.urls"))]
