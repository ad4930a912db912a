"""Where monitoring posts its alerts (issue 22 §3; docs/integrations.md):
``POST /api/integrations/<key>/alerts/``.

The key in the path is the whole credential, as in Grafana OnCall's integration URLs and
Slack's incoming webhooks: senders such as Alertmanager post to a URL and add no header of
their own. So no session, no token, no CSRF; an unknown or inactive key is a 404 like any path
that does not exist. Only the key's SHA-256 is stored (``Integration.key_digest``).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import ErrorSerializer
from incidents.alert_formats import (
    GenericAlertSerializer,
    GenericBodySerializer,
    PrometheusBodySerializer,
)
from incidents.integrations import integration_for_key, receive_alerts


class ReceivedSerializer(serializers.Serializer):
    opened = serializers.ListField(
        child=serializers.CharField(), help_text="References of the incidents the alerts opened."
    )
    repeated = serializers.IntegerField(help_text="Alerts added to their open incident.")
    resolved = serializers.IntegerField(help_text="Alerts noted resolved on their incident.")
    ignored = serializers.IntegerField(help_text="Resolved alerts that had no open alert here.")


ALERTS_BODY = PolymorphicProxySerializer(
    component_name="IncomingAlerts",
    serializers=[PrometheusBodySerializer, GenericBodySerializer, GenericAlertSerializer],
    resource_type_field_name=None,
)


class IncomingAlertsView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="integrations_alerts_create",
        summary="Post alerts from a monitoring system",
        description=(
            "Alertmanager's webhook body (version 4), Grafana Alerting's webhook body, or the "
            "generic shape, as the integration's kind says (docs/integrations.md). The key in "
            "the path is the credential. A firing alert opens an incident unless its "
            "fingerprint already has an open one (then it is a repeat); a resolved one is "
            "noted on its incident. At most 100 alerts per request."
        ),
        auth=[],
        request=ALERTS_BODY,
        responses={200: ReceivedSerializer, 404: ErrorSerializer, 413: ErrorSerializer},
        examples=[
            OpenApiExample(
                "generic",
                request_only=True,
                value={"title": "Mass export from the CRM", "severity": "critical"},
            )
        ],
    )
    def post(self, request: Request, key: str) -> Response:
        integration = integration_for_key(key)
        if integration is None:
            raise NotFound(_("No integration has this key, or it is switched off."))
        received = receive_alerts(integration, request.data)
        return Response(ReceivedSerializer(received).data)
