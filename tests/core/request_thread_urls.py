"""URLs for tests/core/test_request_threads.py: a view that tells which thread ran it."""

import threading

from django.http import HttpRequest, JsonResponse
from django.urls import path


def which_thread(request: HttpRequest) -> JsonResponse:
    thread = threading.current_thread()
    return JsonResponse({"daemon": thread.daemon, "name": thread.name})


urlpatterns = [path("thread/", which_thread)]
