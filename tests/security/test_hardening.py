"""Hardening (issue 14): each test replays one attack against the real code.

Stored XSS through typed links, the Content-Security-Policy (header in every settings
module; no violation on the main pages in Chromium), backup and restore, the evaluators'
signing-key secret independent of ``SECRET_KEY``, and ``check --deploy`` with the
production settings.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

XSS = "javascript:alert(document.domain)"
HOSTILE_LINKS = [
    XSS,
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    " javascript:alert(1)",
    "javascript://example.org/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "https:alert(1)",
    "ftp://files.example/x",
]


# --- 1. Stored XSS through a link that a user types ------------------------------------


@pytest.mark.parametrize("link", HOSTILE_LINKS)
def test_hostile_link_is_not_a_safe_link(link):
    from utfall.platform.links import link_is_safe
    from utfall.platform.web.templatetags.links import safe_link

    assert not link_is_safe(link)
    assert safe_link(link) == ""
    assert link_is_safe("https://example.org/utlysning.pdf")
    assert safe_link("http://example.org/a?b=c#d") == "http://example.org/a?b=c#d"


def test_javascript_link_in_call_documents_is_refused_by_the_service(fund_world):
    from decimal import Decimal

    from utfall.platform.fund import services
    from utfall.platform.fund.models import Call
    from utfall.platform.fund.services import ApplicationInvalid

    before = Call.objects.count()
    with pytest.raises(ApplicationInvalid) as caught:
        services.call_create(
            fund=fund_world.fund,
            actor=fund_world.admin,
            title="Call 2",
            description="x",
            opens_on=fund_world.today,
            deadline=fund_world.today + timedelta(days=30),
            outcome_payment_frame=Decimal("1000000"),
            implementation_start_year=2025,
            implementation_end_year=2028,
            criteria=[{"code": "problem", "name": "Problem", "is_base": True}],
            documents=f"https://example.org/ok.pdf\n{XSS}",
        )
    (finding,) = caught.value.findings
    assert finding.field_name == "documents" and finding.row == 2
    assert "http://" in finding.message
    assert Call.objects.count() == before


def test_javascript_link_in_call_documents_is_refused_by_the_form(client, fund_world):
    from utfall.platform.fund.models import Call

    client.force_login(fund_world.admin)
    before = Call.objects.count()
    response = client.post(
        f"/fund/{fund_world.fund.pk}/",
        {
            "new_call": "1",
            "title": "Call 2",
            "description": "x",
            "opens_on": fund_world.today.isoformat(),
            "deadline": (fund_world.today + timedelta(days=30)).isoformat(),
            "outcome_payment_frame": "1000000",
            "implementation_start_year": "2025",
            "implementation_end_year": "2028",
            "criteria": "problem; Problem; 1; base",
            "documents": XSS,
        },
    )
    assert response.status_code == 200
    assert Call.objects.count() == before
    assert "Rad 1 är inte en http://- eller https://-länk." in response.content.decode()


def test_javascript_link_stored_in_a_call_is_not_rendered_as_a_link(client, fund_world):
    from utfall.platform.fund.models import Call

    # A row written before the check (or by a path that skipped it) is shown as text.
    Call.objects.filter(pk=fund_world.call.pk).update(
        documents=f"{XSS}\nhttps://example.org/utlysning.pdf"
    )
    client.force_login(fund_world.applicant)
    html = client.get(f"/fund/calls/{fund_world.call.pk}/").content.decode()
    assert 'href="javascript:' not in html.lower()
    assert "javascript:alert(document.domain)" in html  # still shown, as text
    assert 'href="https://example.org/utlysning.pdf"' in html


def test_javascript_link_in_a_lesson_is_refused_and_never_rendered(client, world):
    from utfall.errors import UserError
    from utfall.platform.contracts.models import Role
    from utfall.platform.knowledge.models import Lesson
    from utfall.platform.knowledge.services import lesson_add, publication_update

    commissioner = world.users[Role.COMMISSIONER]
    publication_update(contract=world.contract, actor=commissioner, published=True)
    with pytest.raises(UserError, match="http://"):
        lesson_add(contract=world.contract, actor=commissioner, title="Report", url=XSS)
    assert not Lesson.objects.exists()
    lesson = lesson_add(
        contract=world.contract, actor=commissioner, title="Report", url="https://example.org/r"
    )
    Lesson.objects.filter(pk=lesson.pk).update(url=XSS)
    lesson_add(
        contract=world.contract, actor=commissioner, title="Other", url="https://example.org/o"
    )
    html = client.get(f"/knowledge/{world.contract.identifier}/").content.decode()
    assert "Report" in html
    assert 'href="javascript:' not in html.lower()
    # Nor does the open-data export hand it on to other sites.
    exported = client.get(f"/knowledge/{world.contract.identifier}.json")
    assert exported.status_code == 200
    assert "javascript:" not in exported.content.decode().lower()
    assert "https://example.org/o" in exported.content.decode()


# --- 2. Content-Security-Policy: no inline script anywhere ------------------------------

CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI + " "
    + (event.sourceFile || "") + ":" + (event.lineNumber || 0));
});
"""


def _watched_page(browser):
    context = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text)
            if "Content Security Policy" in message.text or message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    return page, console


def _assert_no_violation(page, console: list[str], where: str) -> None:
    violations = page.evaluate("window.__cspViolations || []")
    assert violations == [], f"{where}: {violations}"
    assert [line for line in console if "Content Security Policy" in line] == [], where
    assert [line for line in console if line.startswith("pageerror")] == [], where


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", "pw-test-123")
    page.click("main form button[type=submit]")
    page.wait_for_selector("[data-testid=signed-in-as]")


def test_every_settings_module_sends_the_content_security_policy(client, db):
    from django.conf import settings

    from utfall.platform.web.middleware import content_security_policy

    policy = content_security_policy(settings.UTFALL_CONTENT_SECURITY_POLICY)
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy and "object-src 'none'" in policy
    response = client.get("/accounts/login/")
    assert response["Content-Security-Policy"] == policy
    for module in ("dev", "production", "test"):
        text = (
            __import__("pathlib").Path(settings.PLATFORM_DIR / "settings" / f"{module}.py")
        ).read_text(encoding="utf-8")
        # No environment replaces the shared policy or drops the middleware.
        assert "UTFALL_CONTENT_SECURITY_POLICY" not in text, module
        assert "MIDDLEWARE" not in text, module


def test_no_template_has_inline_script_or_event_handler():
    import re
    from pathlib import Path

    import utfall.platform

    root = Path(utfall.platform.__file__).parent
    offenders = []
    for template in root.rglob("templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<script(?P<attrs>[^>]*)>", text):
            attrs = match.group("attrs")
            if "src=" not in attrs and "application/json" not in attrs:
                offenders.append(f"{template.relative_to(root)}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text):
            offenders.append(f"{template.relative_to(root)}: on…= handler")
        if re.search(r"\sstyle\s*=", text):
            offenders.append(f"{template.relative_to(root)}: style= attribute")
        if "javascript:" in text.lower():
            offenders.append(f"{template.relative_to(root)}: javascript: URL")
    assert offenders == []


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_main_pages_run_under_the_content_security_policy(browser, live_server):
    from settlement_helpers import build_world

    world = build_world()
    identifier = world.contract.identifier
    base = live_server.url
    page, console = _watched_page(browser)

    page.goto(f"{base}/accounts/login/")
    _assert_no_violation(page, console, "login")
    _sign_in(page, base, "commissioner")
    page.wait_for_selector("[data-testid=contract-list]")
    _assert_no_violation(page, console, "contract list")
    # The language switch works without its former inline onchange= handler.
    with page.expect_navigation():
        page.select_option("#language", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(f"{base}/contracts/{identifier}/")
    _assert_no_violation(page, console, "contract")
    page.goto(f"{base}/contracts/{identifier}/council/")
    page.wait_for_selector("[data-chart]")
    page.wait_for_timeout(1500)
    _assert_no_violation(page, console, "council dashboard")
    page.wait_for_selector("[data-chart][data-rendered=true] svg", timeout=60_000)
    _assert_no_violation(page, console, "council dashboard")
    # A meeting's frozen dashboard and its printable report (inline <style>, allowed by hash).
    import datetime as dt

    from utfall.platform.contracts.models import Role
    from utfall.platform.council.services import meeting_record

    as_of = dt.date.fromisoformat(page.locator("#as_of").input_value())
    meeting = meeting_record(
        contract=world.contract,
        actor=world.users[Role.COMMISSIONER],
        held_on=as_of + dt.timedelta(days=10),
        as_of=as_of,
        title="Insatsråd",
        agenda="1. Status",
    )
    page.goto(f"{base}/contracts/{identifier}/council/meetings/{meeting.pk}/")
    page.wait_for_selector("[data-chart][data-rendered=true] svg", timeout=60_000)
    _assert_no_violation(page, console, "council meeting")
    page.goto(f"{base}/contracts/{identifier}/council/meetings/{meeting.pk}/report.html")
    page.wait_for_selector("h1")
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).fontSize") != "32px"
    _assert_no_violation(page, console, "council report")
    page.goto(f"{base}/keys/")
    _assert_no_violation(page, console, "keys")
    from django.urls import reverse

    page.goto(f"{base}{reverse('mfa_index')}")
    _assert_no_violation(page, console, "two-factor")
    # TOTP set-up shows its QR code as a data: image, which the policy allows.
    page.goto(f"{base}{reverse('mfa_activate_totp')}")
    if "reauthenticate" in page.url:  # allauth asks for the password again first
        page.fill("#id_password", "pw-test-123")
        page.click("main form button[type=submit]")
        page.wait_for_url("**/totp/activate/**")
    assert page.locator("img[src^='data:']").count() == 1, (page.url, page.content()[-3000:])
    _assert_no_violation(page, console, "two-factor set-up")
    page.goto(f"{base}/api/docs")
    page.wait_for_selector(".swagger-ui .info", timeout=30_000)
    _assert_no_violation(page, console, "API docs")
    page.context.close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_settlement_page_runs_under_the_content_security_policy(browser, live_server):
    from settlement_helpers import build_world, make_final

    world = build_world()
    statement = make_final(world)
    base = live_server.url
    page, console = _watched_page(browser)
    _sign_in(page, base, "commissioner")
    page.goto(f"{base}/contracts/{world.contract.identifier}/settlements/{statement.pk}/")
    page.wait_for_selector("h1")
    assert page.locator("td.indent-1").count() > 0  # the tree is still indented
    _assert_no_violation(page, console, "settlement")
    page.goto(f"{base}/contracts/{world.contract.identifier}/finance/")
    page.wait_for_selector("h1")
    _assert_no_violation(page, console, "finance")
    page.context.close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fund_call_page_runs_under_the_content_security_policy(browser, live_server, fund_world):
    base = live_server.url
    page, console = _watched_page(browser)
    _sign_in(page, base, "fundadmin")
    page.goto(f"{base}/fund/calls/{fund_world.call.pk}/")
    page.wait_for_selector("h1")
    _assert_no_violation(page, console, "fund call")
    page.goto(f"{base}/fund/{fund_world.fund.pk}/")
    page.wait_for_selector("h1")
    _assert_no_violation(page, console, "fund dashboard")
    page.context.close()


# --- 4. Evaluators' signing keys survive a new SECRET_KEY ------------------------------


@pytest.fixture
def secret_file(tmp_path, settings):
    """A signing-key secret file of this test's own."""
    path = tmp_path / "signing-key.secret"
    settings.UTFALL_SIGNING_KEY_SECRET = ""
    settings.UTFALL_SIGNING_KEY_SECRET_PREVIOUS = ""
    settings.UTFALL_SIGNING_KEY_SECRET_FILE = path
    settings.UTFALL_SIGNING_KEY_SECRET_CREATE_MISSING = True
    return path


def _signs(key) -> bool:
    import base64

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from utfall.platform.settlements.keys import evaluator_key_private

    signature = evaluator_key_private(key).sign(b"statement")
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key))
    try:
        public.verify(signature, b"statement")
    except InvalidSignature:
        return False
    return True


def _legacy_fernet(secret_key: str):
    import base64
    import hashlib

    from cryptography.fernet import Fernet

    digest = hashlib.sha256(b"utfall evaluator signing keys\0" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def test_rotating_secret_key_does_not_lose_the_signing_keys(make_user, secret_file, settings):
    from utfall.platform.settlements.keys import evaluator_key_ensure

    key = evaluator_key_ensure(user=make_user("evaluator"))
    assert secret_file.exists() and oct(secret_file.stat().st_mode & 0o777) == "0o600"
    settings.SECRET_KEY = "a-completely-new-secret-key-after-rotation-" + "x" * 20
    assert _signs(key)


def test_database_dump_and_secret_key_do_not_decrypt_the_signing_keys(
    make_user, secret_file, settings
):
    from cryptography.fernet import InvalidToken

    from utfall.platform.settlements.keys import evaluator_key_ensure

    key = evaluator_key_ensure(user=make_user("evaluator"))
    with pytest.raises(InvalidToken):
        _legacy_fernet(settings.SECRET_KEY).decrypt(key.private_key_encrypted.encode())


def test_key_encrypted_with_the_old_secret_key_is_moved_by_rotation(
    make_user, secret_file, settings
):
    from cryptography.fernet import InvalidToken
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.core.management import call_command

    from utfall.core.ledger import b64encode, key_fingerprint, private_key_pem, public_key_raw
    from utfall.platform.settlements.models import EvaluatorKey

    private = Ed25519PrivateKey.generate()
    raw = public_key_raw(private)
    legacy = EvaluatorKey.objects.create(
        user=make_user("evaluator"),
        public_key=b64encode(raw),
        fingerprint=key_fingerprint(raw),
        private_key_encrypted=_legacy_fernet(settings.SECRET_KEY)
        .encrypt(private_key_pem(private))
        .decode(),
    )
    assert _signs(legacy)  # a database made before the secret existed keeps working
    call_command("rotate_signing_key_secret")
    first = secret_file.read_text()
    legacy.refresh_from_db()
    with pytest.raises(InvalidToken):
        _legacy_fernet(settings.SECRET_KEY).decrypt(legacy.private_key_encrypted.encode())
    assert _signs(legacy)
    call_command("rotate_signing_key_secret")
    assert secret_file.read_text() != first
    assert not secret_file.with_name(secret_file.name + ".next").exists()
    assert _signs(EvaluatorKey.objects.get(pk=legacy.pk))


def test_rotation_with_one_unreadable_key_changes_nothing(make_user, secret_file):
    from django.core.management import CommandError, call_command

    from utfall.platform.settlements.keys import evaluator_key_ensure
    from utfall.platform.settlements.models import EvaluatorKey

    good = evaluator_key_ensure(user=make_user("evaluator"))
    bad = evaluator_key_ensure(user=make_user("evaluator2"))
    EvaluatorKey.objects.filter(pk=bad.pk).update(
        private_key_encrypted=_legacy_fernet("some-other-secret").encrypt(b"x").decode()
    )
    before = secret_file.read_text()
    with pytest.raises(CommandError, match=bad.fingerprint):
        call_command("rotate_signing_key_secret")
    assert secret_file.read_text() == before
    assert not secret_file.with_name(secret_file.name + ".next").exists()
    assert EvaluatorKey.objects.get(pk=good.pk).private_key_encrypted == good.private_key_encrypted
    assert _signs(EvaluatorKey.objects.get(pk=good.pk))


def test_rotation_interrupted_after_its_commit_still_signs_and_finishes(make_user, secret_file):
    from django.core.management import call_command

    from utfall.platform.settlements.keys import (
        create_secret_file,
        evaluator_key_ensure,
        signing_keys_reencrypt,
    )
    from utfall.platform.settlements.models import EvaluatorKey

    key = evaluator_key_ensure(user=make_user("evaluator"))
    pending = secret_file.with_name(secret_file.name + ".next")
    new_secret = create_secret_file(pending)
    signing_keys_reencrypt(new_secret=new_secret)  # committed; "killed" before the rename
    assert _signs(EvaluatorKey.objects.get(pk=key.pk))
    call_command("rotate_signing_key_secret")
    assert secret_file.read_text().strip() == new_secret and not pending.exists()
    assert _signs(EvaluatorKey.objects.get(pk=key.pk))


def test_environment_secret_rotation_with_the_previous_secret(make_user, secret_file, settings):
    from django.core.management import call_command

    from utfall.platform.settlements.keys import evaluator_key_ensure
    from utfall.platform.settlements.models import EvaluatorKey

    old, new = "o" * 40, "n" * 40
    settings.UTFALL_SIGNING_KEY_SECRET = old
    key = evaluator_key_ensure(user=make_user("evaluator"))
    settings.UTFALL_SIGNING_KEY_SECRET = new
    settings.UTFALL_SIGNING_KEY_SECRET_PREVIOUS = old
    call_command("rotate_signing_key_secret")
    settings.UTFALL_SIGNING_KEY_SECRET_PREVIOUS = ""
    assert _signs(EvaluatorKey.objects.get(pk=key.pk))
    assert not secret_file.exists()  # the environment's secret is never written to disk


# --- 5. check --deploy with the production settings ------------------------------------


def _manage(tmp_path, *args: str, **env: str):
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "UTFALL_"))}
    environment.update(
        DJANGO_SETTINGS_MODULE="utfall.platform.settings.production",
        DJANGO_SECRET_KEY="p" * 20 + "production-secret-for-the-deploy-check-only-0123456789",
        DJANGO_ALLOWED_HOSTS="utfall.example.org",
        UTFALL_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "utfall.platform.manage", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=180,
    )


@pytest.fixture
def production_keys(tmp_path):
    pseudonym = tmp_path / "pseudonym.key"
    secret = tmp_path / "signing-key.secret"
    made = _manage(
        tmp_path,
        "pseudonym_key",
        "create",
        str(pseudonym),
        UTFALL_PSEUDONYM_KEY_FILE=str(pseudonym),
        UTFALL_SIGNING_KEY_SECRET="z" * 40,
    )
    assert made.returncode == 0, made.stderr
    made = _manage(
        tmp_path,
        "rotate_signing_key_secret",
        "--create",
        str(secret),
        UTFALL_PSEUDONYM_KEY_FILE=str(pseudonym),
        UTFALL_SIGNING_KEY_SECRET_FILE=str(secret),
    )
    assert made.returncode == 0, made.stderr
    return {
        "UTFALL_PSEUDONYM_KEY_FILE": str(pseudonym),
        "UTFALL_SIGNING_KEY_SECRET_FILE": str(secret),
    }


@pytest.mark.slow
def test_check_deploy_with_the_production_settings_is_clean(tmp_path, production_keys):
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production_keys)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.slow
def test_production_without_a_signing_key_secret_refuses_to_start(tmp_path, production_keys):
    unset = _manage(
        tmp_path, "check", UTFALL_PSEUDONYM_KEY_FILE=production_keys["UTFALL_PSEUDONYM_KEY_FILE"]
    )
    assert unset.returncode != 0
    assert "UTFALL_SIGNING_KEY_SECRET (32+ random characters)" in unset.stderr
    missing = tmp_path / "nowhere.secret"
    result = _manage(
        tmp_path,
        "check",
        UTFALL_PSEUDONYM_KEY_FILE=production_keys["UTFALL_PSEUDONYM_KEY_FILE"],
        UTFALL_SIGNING_KEY_SECRET_FILE=str(missing),
    )
    assert result.returncode != 0
    assert f"The signing-key secret file {missing} does not exist" in result.stderr
    assert not missing.exists()  # never a silent default in production


# --- 3. Backup and restore -----------------------------------------------------------


@pytest.fixture
def platform_files(tmp_path, settings, secret_file):
    """Media, pseudonym key and signing-key secret of this test's own."""
    settings.MEDIA_ROOT = tmp_path / "var" / "media"
    settings.UTFALL_PSEUDONYM_KEY_FILE = tmp_path / "var" / "pseudonym.key"
    return tmp_path


def _populate(make_user, norrkoping_text):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from platform_helpers import personnummer

    from utfall.platform.contracts.services import contract_create
    from utfall.platform.organisations.services import organisation_create
    from utfall.platform.pseudonyms import pseudonym_for_personnummer
    from utfall.platform.settlements.keys import evaluator_key_ensure, evaluator_key_private

    organisation = organisation_create(name="Kommunen", actor=None)
    commissioner = make_user("commissioner", organisation)
    contract = contract_create(
        text=norrkoping_text,
        organisation=organisation,
        actor=commissioner,
        file_name="norrkoping-placed-children.yaml",
    )
    key = evaluator_key_ensure(user=make_user("evaluator", organisation))
    stored = default_storage.save("imports/1/segment.bin", ContentFile(b"\x00rows\xff" * 100))
    return {
        "contract": contract.identifier,
        "key": key,
        "signature": evaluator_key_private(key).sign(b"statement"),
        "stored": stored,
        "pseudonym": pseudonym_for_personnummer(personnummer(7)),
        "number": personnummer(7),
    }


def _destroy(settings) -> None:
    import shutil
    from pathlib import Path

    from django.core.management import call_command

    from utfall.platform.pseudonyms import _cached_key

    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
    Path(settings.UTFALL_PSEUDONYM_KEY_FILE).unlink()
    Path(settings.UTFALL_SIGNING_KEY_SECRET_FILE).unlink()
    _cached_key.cache_clear()


@pytest.mark.django_db(transaction=True)
def test_backup_destroy_restore_gives_back_data_files_keys_and_signatures(
    platform_files, make_user, norrkoping_text, settings
):
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from django.core.files.storage import default_storage
    from django.core.management import call_command

    from utfall.platform.contracts.models import Contract
    from utfall.platform.pseudonyms import pseudonym_for_personnummer
    from utfall.platform.settlements.ledger import ledger_verify
    from utfall.platform.settlements.models import EvaluatorKey, LedgerRecord

    before = _populate(make_user, norrkoping_text)
    entries = LedgerRecord.objects.count()
    archive = platform_files / "backups" / "utfall.tar.gz"
    call_command("backup", str(archive), verbosity=0)
    assert oct(archive.stat().st_mode & 0o777) == "0o600"

    _destroy(settings)
    assert not Contract.objects.exists() and not EvaluatorKey.objects.exists()

    call_command("restore", str(archive), verbosity=0)
    assert Contract.objects.filter(identifier=before["contract"]).exists()
    assert LedgerRecord.objects.count() == entries and ledger_verify() == []
    key = EvaluatorKey.objects.get(fingerprint=before["key"].fingerprint)
    assert _signs(key)  # the restored secret decrypts the restored key
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key))
    public.verify(before["signature"], b"statement")  # an old signature still verifies
    with default_storage.open(before["stored"]) as handle:
        assert handle.read() == b"\x00rows\xff" * 100
    assert pseudonym_for_personnummer(before["number"]) == before["pseudonym"]
    # The clear number is nowhere in the archive.
    import tarfile

    with tarfile.open(archive) as opened:
        for member in opened:
            data = opened.extractfile(member).read()  # type: ignore[union-attr]
            assert before["number"].encode() not in data, member.name


def _rewrite(archive, target, change):
    """Copy ``archive`` to ``target`` with ``change(name, data) -> (name, data)`` applied."""
    import io
    import tarfile

    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as out:
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            for name, content in change(member.name, data):
                info = tarfile.TarInfo(name)
                info.size = len(content)
                out.addfile(info, io.BytesIO(content))


@pytest.mark.django_db(transaction=True)
def test_restore_of_a_tampered_archive_is_refused_and_changes_nothing(
    platform_files, make_user, norrkoping_text, settings
):
    from django.core.management import CommandError, call_command

    from utfall.platform.contracts.models import Contract

    _populate(make_user, norrkoping_text)
    archive = platform_files / "utfall.tar.gz"
    call_command("backup", str(archive), verbosity=0)
    _destroy(settings)
    hostile = platform_files / "changed.tar.gz"
    _rewrite(
        archive,
        hostile,
        lambda name, data: [
            (name, data.replace(b"rows", b"ROWS") if name.startswith("media/") else data)
        ],
    )
    with pytest.raises(CommandError, match="does not match its SHA-256"):
        call_command("restore", str(hostile), verbosity=0)
    assert not Contract.objects.exists()
    assert not (platform_files / "var" / "pseudonym.key").exists()
    escape = platform_files / "escape.tar.gz"
    _rewrite(
        archive,
        escape,
        lambda name, data: (
            [(name, data)]
            + ([("media/../../../evil.txt", b"x")] if name == "keys/pseudonym.key" else [])
        ),
    )
    with pytest.raises(CommandError, match="leaves the archive"):
        call_command("restore", str(escape), verbosity=0)
    assert not list(platform_files.parent.glob("evil.txt"))
    assert not list(platform_files.rglob("evil.txt"))
    call_command("restore", "--check", str(archive), verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_restore_over_a_platform_with_data_or_other_keys_is_refused(
    platform_files, make_user, norrkoping_text, settings
):
    from django.core.management import CommandError, call_command

    from utfall.platform.pseudonyms import _cached_key, create_key_file

    _populate(make_user, norrkoping_text)
    archive = platform_files / "utfall.tar.gz"
    call_command("backup", str(archive), verbosity=0)
    with pytest.raises(CommandError, match="database has users or contracts"):
        call_command("restore", str(archive), verbosity=0)
    _destroy(settings)
    create_key_file(settings.UTFALL_PSEUDONYM_KEY_FILE)  # someone made a new key meanwhile
    _cached_key.cache_clear()
    with pytest.raises(CommandError, match=r"pseudonym key .* differs"):
        call_command("restore", str(archive), verbosity=0)
    call_command("restore", "--force", str(archive), verbosity=0)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_restored_platform_serves_a_statement_that_utfall_verify_accepts(
    platform_files, settings, client
):
    from settlement_helpers import build_world, make_final
    from typer.testing import CliRunner

    from utfall.cli.main import app
    from utfall.platform.contracts.models import Role
    from utfall.platform.settlements.ledger import ledger_jsonl
    from utfall.platform.settlements.models import EvaluatorKey

    world = build_world()
    statement = make_final(world)
    url = f"/contracts/{world.contract.identifier}/settlements/{statement.pk}/bundle.json"
    client.force_login(world.users[Role.FINANCIER])
    before = client.get(url).content
    archive = platform_files / "utfall.tar.gz"
    from django.core.management import call_command

    call_command("backup", str(archive), verbosity=0)
    _destroy(settings)
    call_command("restore", str(archive), verbosity=0)

    client.force_login(world.users[Role.FINANCIER])
    after = client.get(url)
    assert after.status_code == 200 and after.content == before
    bundle = platform_files / "bundle.json"
    bundle.write_bytes(after.content)
    (platform_files / "ledger.jsonl").write_bytes(ledger_jsonl())
    runner = CliRunner()
    result = runner.invoke(app, ["verify", str(bundle)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["verify", str(bundle), "--ledger", str(platform_files / "ledger.jsonl")]
    )
    assert result.exit_code == 0, result.output
    # The evaluator's restored key still signs, under the restored secret.
    assert _signs(EvaluatorKey.objects.get(fingerprint=statement.key_fingerprint))


@pytest.mark.django_db(transaction=True)
def test_backup_names_keys_left_under_secret_key_and_refuses_a_half_rotation(
    platform_files, make_user, settings, secret_file
):
    import io

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.core.management import CommandError, call_command

    from utfall.core.ledger import b64encode, key_fingerprint, private_key_pem, public_key_raw
    from utfall.platform.settlements.keys import create_secret_file
    from utfall.platform.settlements.models import EvaluatorKey

    private = Ed25519PrivateKey.generate()
    raw = public_key_raw(private)
    EvaluatorKey.objects.create(
        user=make_user("evaluator"),
        public_key=b64encode(raw),
        fingerprint=key_fingerprint(raw),
        private_key_encrypted=_legacy_fernet(settings.SECRET_KEY)
        .encrypt(private_key_pem(private))
        .decode(),
    )
    errors = io.StringIO()
    call_command("backup", str(platform_files / "a.tar.gz"), stderr=errors, verbosity=0)
    assert "1 stored key(s) are not encrypted under the current signing-key secret" in (
        errors.getvalue()
    )
    create_secret_file(secret_file.with_name(secret_file.name + ".next"))
    with pytest.raises(CommandError, match="rotation of the signing-key secret is unfinished"):
        call_command("backup", str(platform_files / "b.tar.gz"), verbosity=0)
    assert not (platform_files / "b.tar.gz").exists()
