"""Helpers of the settlement_ui tests (imported by name: ``from settle_ui_helpers import …``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "settlement"))

from settlement_helpers import CONTRACT, ROOT, fast_text

PLAN = ROOT / "examples" / "finance" / "norrkoping-plan-from-data.yaml"


def manual_text() -> str:
    """The contract with ``invested_sek`` entered by hand (its binding removed)."""
    text = fast_text(CONTRACT)
    bound = "    evaluate: drawn\n    take: value\n"
    assert bound in text
    return text.replace(bound, "", 1)
