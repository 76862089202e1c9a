"""``manage demo``: migrate, load the demo, print the logins and serve on 127.0.0.1:8000."""

from __future__ import annotations

import subprocess
import sys
from typing import Any, ClassVar

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from utfall.platform.i18n import compile_translations


class Command(BaseCommand):
    help = "Set up the demo (migrate, contracts, synthetic data, users) and serve it."
    requires_system_checks: ClassVar[list[str]] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-serve", action="store_true", help="set up and exit")
        parser.add_argument("--no-data", action="store_true", help="skip the synthetic data")
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        from utfall.platform.demo import WITHOUT_FINANCIER, load_demo

        compile_translations()
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Loading the demo …")
        logins = load_demo(log=self.stdout.write, with_data=not options["no_data"])
        url = f"http://{options['addrport']}/"
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"utfall demo: {url}"))
        self.stdout.write("Sign in with (password for all: utfall-demo):")
        for login in logins:
            line = f"  {login.username:<13} {login.role}"
            if login.totp_secret:
                line += (
                    f"  - two-factor: TOTP secret {login.totp_secret} (add it to an "
                    "authenticator app, or print the current code with "
                    f"`{sys.executable} -m utfall.platform.manage totp_code {login.username}`)"
                )
            self.stdout.write(line)
        self.stdout.write(
            f"The financier is not a party to {', '.join(sorted(WITHOUT_FINANCIER))}; "
            "the evaluator and admin need a TOTP code after the password."
        )
        if options["no_serve"]:
            return
        worker = None
        if "django_tasks_db" in settings.INSTALLED_APPS:
            # Imports left running by a killed worker are marked interrupted (they can be
            # started again); then large imports run in the background task worker.
            call_command("imports_recover", verbosity=0)
            worker = subprocess.Popen(
                [sys.executable, "-m", "utfall.platform.manage", "db_worker"],
            )
        try:
            call_command("runserver", options["addrport"], use_reloader=False)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=10)
