from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.api.permissions import register_url_object
        from monitoring.selectors import alert_get

        register_url_object("alert_id", alert_get)
