from django.http import JsonResponse
from django.urls import include, path


def bare(request):  # the baseline: Django on daphne, no auth, no database
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare/", bare), path("", include("core.urls"))]
