"""The design page's tests build the Norrköping world of the settlement tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "settlement"))
