from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    """Participants, known only by keyed pseudonyms."""

    name = "utfall.platform.participants"
    label = "participants"
    verbose_name = "Participants"
