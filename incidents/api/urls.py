from django.urls import path
from rest_framework.routers import SimpleRouter

from incidents.api.views import EventFeedView, IncidentViewSet, TokenView

router = SimpleRouter(trailing_slash=True)
router.register("incidents", IncidentViewSet, basename="incident")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("events/", EventFeedView.as_view(), name="event-feed"),
    *router.urls,
]
