from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DesignConfig(AppConfig):
    name = "utfall.platform.design"
    label = "design"
    verbose_name = _("Evaluation design")
    default_auto_field = "django.db.models.BigAutoField"
