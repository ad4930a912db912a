"""URLs for tests/core/test_request_threads.py: a view that counts the requests inside it."""

from __future__ import annotations

import threading
import time

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

inside = {"now": 0, "most": 0}
guard = threading.Lock()


@csrf_exempt
def busy(request: HttpRequest) -> JsonResponse:
    with guard:
        inside["now"] += 1
        inside["most"] = max(inside["most"], inside["now"])
    time.sleep(0.05)
    with guard:
        inside["now"] -= 1
    return JsonResponse({"body": len(request.body), "thread": threading.current_thread().name})


urlpatterns = [path("busy/", busy)]
