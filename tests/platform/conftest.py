"""Django set-up for the platform tests, without touching the project's root configuration.

pytest-django reads DJANGO_SETTINGS_MODULE when pytest starts; this conftest is
only imported when tests under tests/platform are collected, so it sets the
variable and calls ``django.setup()`` itself. pytest-django's fixtures (``db``,
``client``, ``live_server``) look the settings up lazily and work from here on;
core tests collected in the same session never import Django.
"""

from __future__ import annotations

import os
import shutil

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "utfall.platform.settings.test")

import django

django.setup()

import pytest  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from utfall.platform.i18n import compile_translations  # noqa: E402

# The .mo files are build products: compile them once per session (msgfmt or Babel).
compile_translations()

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "contracts")


@pytest.fixture
def browser():
    """Debian's Chromium under Playwright (``playwright install`` cannot download here)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (run scripts/install-chromium.sh)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test
    # makes between page actions are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-background-networking"]
        )
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def make_user(db):
    """Create a user, optionally a member of organisations."""
    from utfall.platform.organisations.services import membership_add

    def make(username: str, *organisations, staff: bool = False):
        user = get_user_model().objects.create_user(
            username=username,
            email=f"{username}@example.invalid",
            password="pw-test-123",
            is_staff=staff,
        )
        for organisation in organisations:
            membership_add(user=user, organisation=organisation, actor=None)
        return user

    return make


@pytest.fixture
def norrkoping_text() -> str:
    with open(os.path.join(EXAMPLES, "norrkoping-placed-children.yaml"), encoding="utf-8") as f:
        return f.read()


@pytest.fixture
def world(db, make_user, norrkoping_text):
    """One contract with one organisation (and one user) per role, plus an outsider."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.contracts.services import contract_create, contract_party_set
    from utfall.platform.organisations.services import organisation_create

    organisations = {
        role: organisation_create(name=f"Org {role.value}", actor=None) for role in Role
    }
    users = {role: make_user(role.value, organisations[role]) for role in Role}
    contract = contract_create(
        text=norrkoping_text,
        organisation=organisations[Role.COMMISSIONER],
        actor=users[Role.COMMISSIONER],
        file_name="norrkoping-placed-children.yaml",
    )
    for role in Role:
        if role != Role.COMMISSIONER:
            contract_party_set(
                contract=contract,
                organisation=organisations[role],
                role=role,
                actor=users[Role.COMMISSIONER],
                accepted_by=users[role],
                approved_by=[users[Role.FINANCIER]],
            )
    outsider_org = organisation_create(name="Org outsider", actor=None)
    outsider = make_user("outsider", outsider_org)

    class World:
        pass

    w = World()
    w.contract = contract
    w.users = users
    w.organisations = organisations
    w.outsider = outsider
    w.outsider_org = outsider_org
    return w
