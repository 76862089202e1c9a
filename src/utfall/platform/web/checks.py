"""Start-up checks of the hardening: the signing-key secret is there, the CSP is sent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

CSP_MIDDLEWARE = "utfall.platform.web.middleware.ContentSecurityPolicyMiddleware"


@checks.register(checks.Tags.security)
def signing_key_secret_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """An error when the secret that encrypts evaluators' signing keys is missing or short."""
    from utfall.platform.settlements.keys import signing_key_secret

    try:
        signing_key_secret()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="utfall.E002")]
    return []


@checks.register(checks.Tags.security)
def content_security_policy_check(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """An error when the Content-Security-Policy middleware or its policy is missing."""
    policy = getattr(settings, "UTFALL_CONTENT_SECURITY_POLICY", None)
    if CSP_MIDDLEWARE not in settings.MIDDLEWARE or not policy:
        return [
            checks.Error(
                "the Content-Security-Policy is not sent: MIDDLEWARE must contain "
                f"{CSP_MIDDLEWARE} and UTFALL_CONTENT_SECURITY_POLICY must be set",
                id="utfall.E003",
            )
        ]
    script = policy.get("script-src", policy.get("default-src", []))
    if "'unsafe-inline'" in script or "'unsafe-eval'" in script:
        return [checks.Error("the Content-Security-Policy allows inline script", id="utfall.E004")]
    return []
