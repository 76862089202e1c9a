"""Estimators of the outcomes a contract pays on (pure Python, no Django).

Every estimator is a pure function over a pandas DataFrame (or arrays) that
returns an :class:`~utfall.core.evaluation.result.Estimate`. Reading data files
and dispatching on a spec's ``method`` is the job of
:mod:`utfall.services.evaluation`.

The generic estimators:

* :func:`difference_in_means` — randomised or given comparison group;
* :func:`did` — the 2×2 difference-in-differences regression;
* :func:`twfe` — two-way fixed effects (refuses staggered adoption unless asked);
* :func:`ipw` — inverse probability weighting, ATE or ATT;
* :func:`matching` — nearest-neighbour matching, Abadie–Imbens standard errors;
* :func:`pre_post` — paired change, Reliable Change Index, mixed model;
* :func:`staggered_did` — Callaway & Sant'Anna group-time effects under staggered adoption;
* :func:`synthetic_control` — one treated unit, placebo inference;
* :func:`by_subgroup` — any of them per level of a categorical column.

Names are imported lazily so that importing the result type stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "Estimate",
    "Inference",
    "by_subgroup",
    "did",
    "difference_in_means",
    "ipw",
    "matching",
    "pre_post",
    "reliable_change",
    "staggered_did",
    "synthetic_control",
    "twfe",
]

_WHERE = {
    "Estimate": "result",
    "Inference": "inference",
    "by_subgroup": "subgroups",
    "did": "panel",
    "difference_in_means": "means",
    "ipw": "weighting",
    "matching": "nearest_neighbour",
    "pre_post": "prepost",
    "reliable_change": "prepost",
    "staggered_did": "staggered",
    "synthetic_control": "synthetic",
    "twfe": "panel",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
