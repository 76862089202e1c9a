"""The 404, 403 and 500 pages: in the active language, with a way home, without paths or
identifiers; the 500 page without the database; the favicon; the demo's settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from django.test import Client, RequestFactory, override_settings
from django.utils import translation

HOME = 'href="/"'
TEXTS = {
    404: {"sv": "Sidan hittades inte", "en": "Page not found"},
    403: {"sv": "Inte tillåtet", "en": "Not allowed"},
    500: {"sv": "Något gick fel", "en": "Something went wrong"},
}
LEAKS = ["Traceback", "/srv/", "secret", "norrkoping", "financier", "RuntimeError", "line 42"]


def _client(language: str) -> Client:
    client = Client(raise_request_exception=False)
    client.cookies["django_language"] = language
    return client


def _assert_page(response, status: int, language: str) -> str:
    assert response.status_code == status
    html = response.content.decode()
    assert TEXTS[status][language] in html
    other = "en" if language == "sv" else "sv"
    assert TEXTS[status][other] not in html
    assert f'<html lang="{language}">' in html
    assert 'data-testid="home-link"' in html and HOME in html
    visible = _main(html)
    for leak in LEAKS:
        assert leak not in visible, leak
    return html


def _main(html: str) -> str:
    """The page's own part (the header's language switch carries the path in a hidden
    field, which is not shown)."""
    return html.split('<main id="main">', 1)[1].split("</main>", 1)[0]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["sv", "en"])
def test_404_in_each_language_hides_the_path(language):
    response = _client(language).get("/contracts/norrkoping-placed-children/no-such-secret/")
    html = _assert_page(response, 404, language)
    assert "no-such-secret" not in _main(html)
    assert "Using the URLconf" not in html  # Django's debug page


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["sv", "en"])
def test_404_of_a_contract_one_is_no_party_to(language, world):
    client = _client(language)
    client.force_login(world.outsider)
    response = client.get(f"/contracts/{world.contract.identifier}/")
    html = _assert_page(response, 404, language)
    assert world.contract.identifier not in _main(html)


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="shell_urls")
@pytest.mark.parametrize("language", ["sv", "en"])
def test_403_in_each_language_hides_the_reason(language):
    _assert_page(_client(language).get("/shell-test/forbidden/"), 403, language)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["sv", "en"])
def test_403_of_a_refused_form_says_what_to_do(language):
    client = Client(enforce_csrf_checks=True)
    client.cookies["django_language"] = language
    response = client.post("/accounts/login/", {"login": "x", "password": "y"})
    assert response.status_code == 403
    html = response.content.decode()
    expected = {"sv": "Formuläret kunde inte skickas", "en": "The form could not be sent"}
    assert expected[language] in html
    assert "CSRF" not in _main(html) and HOME in html


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="shell_urls")
@pytest.mark.parametrize("language", ["sv", "en"])
def test_500_in_each_language_hides_the_error(language):
    _assert_page(_client(language).get("/shell-test/boom/"), 500, language)


@pytest.mark.parametrize("language", ["sv", "en"])
def test_500_renders_without_database_or_request(language, django_assert_num_queries):
    """No ``db`` fixture: any query would fail the test (pytest-django blocks it)."""
    from utfall.platform.web.views import server_error

    with translation.override(language):
        bare = RequestFactory().get("/anything/")  # no session, no user, no middleware
        response = server_error(bare)
        nothing = server_error(None)
    for answer in (response, nothing):
        assert answer.status_code == 500
        html = answer.content.decode()
        assert TEXTS[500][language] in html and HOME in html
        assert "favicon.svg" in html


@pytest.mark.django_db
def test_favicon_route_and_link(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(response)
    page = client.get("/accounts/login/").content.decode()
    assert 'rel="icon" href="/static/utfall/favicon.svg"' in page


def test_the_demo_settings_answer_an_unknown_url_with_the_real_404(tmp_path):
    """``make demo`` serves ``manage demo`` under settings.dev: the same page, not Django's
    debug page, and the static files still served (WhiteNoise from the source folders)."""
    script = textwrap.dedent(
        """
        import json, django
        django.setup()
        from django.conf import settings
        from django.test import Client
        from utfall.platform.i18n import compile_translations
        compile_translations()
        client = Client(HTTP_HOST="127.0.0.1")
        answers = {}
        for language in ("sv", "en"):
            client.cookies["django_language"] = language
            page = client.get("/no-such-page/")
            answers[language] = [page.status_code, page.content.decode()]
        css = client.get("/static/utfall/app.css")
        icon = client.get("/favicon.ico")
        print(json.dumps({"debug": settings.DEBUG, "pages": answers,
                          "css": css.status_code, "icon": icon.status_code}))
        """
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "UTFALL_"))}
    environment.update(
        DJANGO_SETTINGS_MODULE="utfall.platform.settings.dev",
        UTFALL_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["debug"] is False
    assert answer["css"] == 200 and answer["icon"] == 200
    for language, (status, html) in answer["pages"].items():
        assert status == 404
        assert TEXTS[404][language] in html
        assert "Using the URLconf" not in html and "DEBUG = True" not in html
        main = html.split('<main id="main">', 1)[1].split("</main>", 1)[0]
        assert "no-such-page" not in main


@pytest.mark.django_db
def test_an_unknown_api_address_answers_the_api_error_shape(client):
    response = client.get("/api/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json() == {"message": "not found", "detail": [], "findings": []}


@pytest.mark.django_db
def test_totp_code_still_refuses_outside_the_demo():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="demo"):
        call_command("totp_code", "nobody")
