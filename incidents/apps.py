from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from incidents.events import on_event_committed
        from incidents.stream import broadcast_committed_event, watch_access_changes

        # Every process that commits events publishes them: web, notifier worker, commands.
        on_event_committed(broadcast_committed_event)
        # ... and every process that can sign someone out, deactivate or demote them says so.
        watch_access_changes()
