"""Start-up check: the pseudonym key must be there (runserver, migrate, db_worker, check).

The WSGI entry point loads the key as well, so a production server without it
refuses to start with the same message.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.security)
def pseudonym_key_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """An error when the pseudonym key file is missing or unusable."""
    from utfall.platform.pseudonyms import load_key

    try:
        load_key()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="utfall.E001")]
    return []
