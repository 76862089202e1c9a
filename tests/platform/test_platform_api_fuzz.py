"""Schemathesis fuzzing of the API from its own OpenAPI schema (bounded examples)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from utfall.platform.contracts.models import Role
from utfall.platform.organisations.services import api_token_create

# The schema endpoint needs no database; conftest.py has set Django up already.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # Calling the WSGI app directly fires request_finished, which would close the
    # test's database connection (Django's own test client disconnects it too).
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schemathesis.check
def error_shape(ctx, response, case):
    """Every 4xx answer is the documented ``{message, detail, findings}`` (issue 14)."""
    if 400 <= response.status_code < 500 and response.status_code != 405:
        body = response.json()
        if set(body) != {"message", "detail", "findings"}:
            raise AssertionError(f"{response.status_code} without the error shape: {body}")
        if not isinstance(body["message"], str) or not isinstance(body["findings"], list):
            raise AssertionError(f"{response.status_code} error shape has wrong types: {body}")


@pytest.fixture
def token(world):
    _record, clear = api_token_create(user=world.users[Role.COMMISSIONER], name="fuzz")
    return clear


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_conforms_to_its_schema(case, token):
    # No 5xx, responses match the documented schemas, status codes are documented.
    # Left out: "a schema-valid request is accepted" - random identifiers rightly get 404
    # and random kinds of data 400, which the schema cannot express.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[positive_data_acceptance],
        additional_checks=[error_shape],
    )
