"""manage.py add_integration NAME --kind alertmanager|grafana|generic [--severity high]
manage.py add_integration NAME --rotate

Registers a monitoring system that may open incidents (docs/integrations.md) and prints the
URL it posts to, once: only the key's digest is stored, so a lost URL is replaced with
``--rotate``, which makes a new key and stops the old one at once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.choices import Severity
from incidents.integrations import add_integration, path_of, rotate_key
from incidents.models import Integration, IntegrationKind

SNIPPETS = {
    IntegrationKind.ALERTMANAGER: """\
Paste into alertmanager.yml (a receiver your route sends to):

receivers:
  - name: breach-desk
    webhook_configs:
      - url: "{url}"
        send_resolved: true
        max_alerts: 100
""",
    IntegrationKind.GRAFANA: """\
In Grafana: Alerting > Contact points > Add contact point, integration "Webhook":
  URL:         {url}
  HTTP method: POST
then route the alerts that should open incidents to it in a notification policy.
""",
    IntegrationKind.GENERIC: """\
Post JSON to it, e.g.:

curl -X POST -H 'Content-Type: application/json' \\
  -d '{{"title": "Mass export from the CRM", "severity": "critical", "fingerprint": "crm"}}' \\
  "{url}"
""",
}


class Command(BaseCommand):
    help = "Register a monitoring system that opens incidents, and print its URL once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--kind", choices=IntegrationKind.values)
        parser.add_argument(
            "--severity",
            choices=Severity.values,
            help="severity of incidents from alerts that name none (default: high)",
        )
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="issue a new key for an existing integration; the old URL stops working",
        )

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        if options["rotate"]:
            integration = Integration.objects.filter(name=name).first()
            if integration is None:
                raise CommandError(f"no integration named {name!r}")
            key = rotate_key(integration)
            self.stdout.write(f"New key for {integration.name!r}; the old URL no longer works.")
        else:
            if not options["kind"]:
                raise CommandError("--kind is required (alertmanager, grafana or generic)")
            if Integration.objects.filter(name=name).exists():
                raise CommandError(f"integration {name!r} already exists (--rotate for a new key)")
            try:
                integration, key = add_integration(
                    name, kind=options["kind"], default_severity=options["severity"]
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
            self.stdout.write(f"Integration {integration.name!r} ({integration.kind}) created.")
        path = path_of(key)
        url = settings.PUBLIC_BASE_URL + path
        self.stdout.write(f"Its URL path (shown only now; the key is its secret): {path}")
        self.stdout.write(f"Full URL: {url}\n")
        self.stdout.write(SNIPPETS[IntegrationKind(integration.kind)].format(url=url))
