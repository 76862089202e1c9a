"""WSGI entry point (production settings unless DJANGO_SETTINGS_MODULE says otherwise)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "utfall.platform.settings.production")

application = get_wsgi_application()

# Refuse to serve without the pseudonym key (ImproperlyConfigured names the file).
from utfall.platform.pseudonyms import load_key  # noqa: E402

load_key()

# ...and without the secret that encrypts the evaluators' signing keys (decision 0641).
from utfall.platform.settlements.keys import signing_key_secret  # noqa: E402

signing_key_secret()
