"""Settings: ``base`` (shared), ``dev`` (manage.py default), ``production``, ``test``."""
