from django.apps import AppConfig


class WebConfig(AppConfig):
    """Pages, templates, static files and translations."""

    name = "utfall.platform.web"
    label = "web"
    verbose_name = "Web"

    def ready(self) -> None:
        from utfall.platform.web import checks  # noqa: F401  (registers the start-up checks)
