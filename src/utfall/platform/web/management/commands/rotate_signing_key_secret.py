"""``manage rotate_signing_key_secret``: re-encrypt every evaluator's key under a new secret.

File mode (no ``UTFALL_SIGNING_KEY_SECRET`` in the environment): a new secret is
written to ``<secret file>.next``; every stored key is re-encrypted under it in one
transaction; then ``.next`` replaces the secret file. A run interrupted at any
point leaves keys that still decrypt (the keys module reads ``.next`` too), and the
next run finishes it.

Environment mode: set ``UTFALL_SIGNING_KEY_SECRET`` to the new secret and
``UTFALL_SIGNING_KEY_SECRET_PREVIOUS`` to the old one, run this command, then
drop ``..._PREVIOUS``.

``--create PATH`` writes a first secret file (production set-up).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from utfall.platform.settlements.keys import (
    _read_secret,
    create_secret_file,
    signing_key_secret,
    signing_key_secret_file,
    signing_key_secret_pending_file,
    signing_keys_reencrypt,
)


class Command(BaseCommand):
    help = (
        "Re-encrypt every evaluator's signing key under a new signing-key secret "
        "(all or nothing), or --create the first secret file."
    )
    # The secret need not exist yet for --create.
    requires_system_checks: ClassVar[list[str]] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--create", type=Path, metavar="PATH", help="write a first secret")

    def handle(self, *args: Any, create: Path | None = None, **options: Any) -> None:
        if create is not None:
            if create.exists():
                raise CommandError(f"{create} exists; rotate it instead of replacing it")
            create_secret_file(create)
            self.stdout.write(f"wrote a new signing-key secret to {create} (mode 600)")
            return
        try:
            if getattr(settings, "UTFALL_SIGNING_KEY_SECRET", ""):
                count = signing_keys_reencrypt(new_secret=signing_key_secret())
                self.stdout.write(
                    f"re-encrypted {count} signing key(s) under UTFALL_SIGNING_KEY_SECRET; "
                    "UTFALL_SIGNING_KEY_SECRET_PREVIOUS may now be removed"
                )
                return
            path = signing_key_secret_file()
            signing_key_secret()  # the current secret must be readable (or made, in dev)
            pending = signing_key_secret_pending_file()
            # An interrupted rotation is finished with the secret it had already written.
            resuming = pending.exists()
            new_secret = _read_secret(pending) if resuming else create_secret_file(pending)
            try:
                count = signing_keys_reencrypt(new_secret=new_secret)
            except BaseException:
                # Rolled back: no key is under the new secret, so it may go (unless an
                # earlier, committed run already used it).
                if not resuming:
                    pending.unlink(missing_ok=True)
                raise
            os.replace(pending, path)
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"re-encrypted {count} signing key(s) under a new secret in {path}; "
            "back up the new secret file (the old one no longer decrypts them)"
        )
