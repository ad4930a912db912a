from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from incidents.stream.push import watch_access_changes

        # Every process that can sign someone out, deactivate or demote them says so to the
        # live stream (signals are the only place Django announces these).
        watch_access_changes()
