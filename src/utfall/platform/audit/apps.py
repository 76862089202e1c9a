from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Audit events written by the services."""

    name = "utfall.platform.audit"
    label = "audit"
    verbose_name = "Audit trail"
