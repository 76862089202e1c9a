"""The security tests replay attacks against the real platform: they reuse the platform
tests' Django set-up and fixtures (``make_user``, ``world``, ``browser``, the council and
fund worlds) and their helper modules, without copying them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

PLATFORM_TESTS = Path(__file__).resolve().parent.parent / "platform"
for folder in (
    PLATFORM_TESTS,
    PLATFORM_TESTS / "council",
    PLATFORM_TESTS / "settlement",
    PLATFORM_TESTS / "fund",
):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def _fixtures_of(path: Path, name: str) -> dict[str, object]:
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return {key: value for key, value in vars(module).items() if not key.startswith("_")}


# Platform conftest first: it sets DJANGO_SETTINGS_MODULE and calls django.setup().
globals().update(_fixtures_of(PLATFORM_TESTS / "conftest.py", "_security_platform_conftest"))
globals().update(
    _fixtures_of(PLATFORM_TESTS / "council" / "conftest.py", "_security_council_conftest")
)
globals().update(_fixtures_of(PLATFORM_TESTS / "fund" / "conftest.py", "_security_fund_conftest"))
