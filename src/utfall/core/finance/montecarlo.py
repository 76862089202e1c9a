"""Monte Carlo of a contract's payouts: distributions, per-scenario IRR, summaries.

Outcomes are drawn from distributions (``normal(8e6, 4e6)``, ``bernoulli(0.6)``
…), the contract is settled for every scenario at once
(:mod:`utfall.core.finance.vectorised`), and the payouts are summarised: their
distribution, the probability that the financier is repaid in full and that
it earns a premium, the multiple, and the IRR.

The IRR of a scenario follows the XIRR convention (actual/365) used by
:func:`utfall.core.finance.returns.irr`. When all the financier's money comes
back on one date, the rate depends only on the multiple ``m = received /
invested`` through ``m = Σ s_k (1 + r) ** d_k`` (``s_k`` the share drawn at
date ``k``, ``d_k`` the years from it to the payment), a strictly increasing
function: it is tabulated once on a fine grid and inverted for every scenario
by interpolation. Payments on several dates fall back to vectorised Newton
iterations on the full cash flows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from utfall.core.contracts.values import Term
from utfall.core.finance.vectorised import Vector, VectorisationError, fixed_from_floats

__all__ = [
    "Distribution",
    "Schedule",
    "Summary",
    "draw",
    "irr_vector",
    "parse_distribution",
    "scenario_column",
    "summarise",
]

NUMBER_SCALE = 6
"""Decimals kept of a number or ratio drawn from a distribution."""

_CALL = re.compile(r"^\s*([a-z_]+)\s*\((.*)\)\s*$", re.DOTALL)

_ARITY = {
    "normal": ("mean", "sd"),
    "lognormal": ("mu", "sigma"),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "beta": ("a", "b"),
    "bernoulli": ("p",),
    "binomial": ("n", "p"),
    "poisson": ("lam",),
    "fixed": ("value",),
}


@dataclass(frozen=True)
class Distribution:
    """A named distribution with its parameters (or, for ``choice``, its options)."""

    kind: str
    args: tuple[float, ...] = ()
    options: tuple[tuple[str, float], ...] = ()
    text: str = ""

    def __str__(self) -> str:
        return self.text or self.kind


def _number(text: str, what: str) -> float:
    try:
        value = float(text.strip().replace("_", ""))
    except ValueError:
        raise ValueError(f"{what}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{what}: {text.strip()!r} is not a finite number")
    return value


def parse_distribution(text: str) -> Distribution:
    """Read ``normal(8e6, 4e6)``, ``bernoulli(0.6)``, ``choice(A: 0.3, B: 0.7)``, ``1000`` …

    ``ValueError`` says what is wrong. Kinds: normal(mean, sd),
    lognormal(mu, sigma) of the logarithm, uniform(low, high),
    triangular(low, mode, high), beta(a, b), bernoulli(p), binomial(n, p),
    poisson(lam), choice(name: weight, …), fixed(value) or a bare value.
    """
    match = _CALL.match(text)
    if not match:
        stripped = text.strip()
        if stripped.lower() in {"true", "false"}:
            return Distribution(
                "fixed_boolean", (1.0 if stripped.lower() == "true" else 0.0,), text=text
            )
        return Distribution("fixed", (_number(stripped, "a fixed value"),), text=text)
    kind, body = match.group(1), match.group(2)
    if kind == "choice":
        options: list[tuple[str, float]] = []
        for part in body.split(","):
            name, sep, weight = part.partition(":")
            if not sep or not name.strip():
                raise ValueError(
                    f"choice(): write each option as NAME: WEIGHT, got {part.strip()!r}"
                )
            value = _number(weight, f"choice() weight of {name.strip()!r}")
            if value < 0:
                raise ValueError(f"choice(): the weight of {name.strip()!r} is negative")
            options.append((name.strip(), value))
        if sum(w for _, w in options) <= 0:
            raise ValueError("choice(): the weights sum to 0")
        return Distribution("choice", options=tuple(options), text=text)
    if kind not in _ARITY:
        known = ", ".join([*_ARITY, "choice"])
        raise ValueError(f"unknown distribution {kind!r} (known: {known})")
    names = _ARITY[kind]
    parts = [p for p in body.split(",")] if body.strip() else []
    if len(parts) != len(names):
        raise ValueError(f"{kind}() takes {len(names)} argument(s): {', '.join(names)}")
    args = tuple(_number(p, f"{kind}() {n}") for p, n in zip(parts, names, strict=True))
    _check(kind, args)
    return Distribution(kind, args, text=text)


def _check(kind: str, args: tuple[float, ...]) -> None:
    problems = {
        "normal": args[-1] < 0,
        "lognormal": args[-1] < 0,
        "uniform": len(args) == 2 and args[0] > args[1],
        "triangular": len(args) == 3 and not (args[0] <= args[1] <= args[2] and args[0] < args[2]),
        "beta": len(args) == 2 and (args[0] <= 0 or args[1] <= 0),
        "bernoulli": not 0 <= args[0] <= 1,
        "binomial": len(args) == 2
        and (args[0] < 0 or args[0] != int(args[0]) or not 0 <= args[1] <= 1),
        "poisson": args[0] < 0,
    }
    if problems.get(kind):
        raise ValueError(f"{kind}{args}: parameters out of range")


def draw(distribution: Distribution, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws: floats, or booleans (bernoulli, true/false), or texts (choice)."""
    kind, args = distribution.kind, distribution.args
    if kind == "fixed":
        return np.full(size, args[0])
    if kind == "fixed_boolean":
        return np.full(size, bool(args[0]))
    if kind == "normal":
        return rng.normal(args[0], args[1], size)
    if kind == "lognormal":
        return rng.lognormal(args[0], args[1], size)
    if kind == "uniform":
        return rng.uniform(args[0], args[1], size)
    if kind == "triangular":
        return rng.triangular(args[0], args[1], args[2], size)
    if kind == "beta":
        return rng.beta(args[0], args[1], size)
    if kind == "bernoulli":
        return rng.random(size) < args[0]
    if kind == "binomial":
        return rng.binomial(int(args[0]), args[1], size).astype(np.float64)
    if kind == "poisson":
        return rng.poisson(args[0], size).astype(np.float64)
    if kind == "choice":
        names = np.array([name for name, _ in distribution.options])
        weights = np.array([w for _, w in distribution.options], dtype=np.float64)
        return names[rng.choice(len(names), size=size, p=weights / weights.sum())]
    raise VectorisationError(f"unknown distribution {kind!r}")  # pragma: no cover


def scenario_column(term: Term, samples: np.ndarray) -> tuple[Vector, int]:
    """Draws as the vectorised evaluator's input for ``term``, and how many were clipped.

    Numbers are clipped to the input's ``min``/``max`` (the count is reported,
    so a distribution that often leaves the range shows); money is rounded to
    öre, counts to whole numbers, other numbers to :data:`NUMBER_SCALE`
    decimals.
    """
    kind = term.type
    if kind == "series":
        raise VectorisationError(
            f"input {term.name!r} is a series; give it in the facts (distributions draw numbers)"
        )
    if kind == "boolean":
        if samples.dtype != bool:
            raise VectorisationError(
                f"input {term.name!r} is true/false: use bernoulli(p) or true/false"
            )
        return samples, 0
    if kind == "choice":
        if samples.dtype.kind not in {"U", "O"}:
            raise VectorisationError(
                f"input {term.name!r} is a choice: use choice(NAME: weight, …)"
            )
        unknown = sorted(set(np.unique(samples).tolist()) - set(term.choices or ()))
        if unknown:
            allowed = ", ".join(term.choices or ())
            raise VectorisationError(
                f"input {term.name!r}: {', '.join(unknown)} is not one of {allowed}"
            )
        return samples, 0
    if samples.dtype == bool:
        samples = samples.astype(np.float64)
    values = np.asarray(samples, dtype=np.float64)
    low = float(term.minimum) if term.minimum is not None else -np.inf
    high = float(term.maximum) if term.maximum is not None else np.inf
    if kind == "count":
        low = max(low, 0.0)
    clipped = int(np.count_nonzero((values < low) | (values > high)))
    values = np.clip(values, low, high)
    scale = {"money": 2, "count": 0}.get(kind, NUMBER_SCALE)
    column, _ = fixed_from_floats(values, scale)
    return column, clipped


# ----------------------------------------------------------------------------- IRR


@dataclass(frozen=True)
class Schedule:
    """When the financier's money goes in (shares of the invested amount) and comes back."""

    drawdown_dates: tuple[date, ...]
    drawdown_shares: tuple[float, ...]
    payment_dates: Mapping[str, date] = field(default_factory=dict)
    settlement_date: date | None = None

    def __post_init__(self) -> None:
        if not self.drawdown_dates or len(self.drawdown_dates) != len(self.drawdown_shares):
            raise ValueError("a schedule needs drawdown dates with one share each")
        if abs(sum(self.drawdown_shares) - 1.0) > 1e-9 or min(self.drawdown_shares) < 0:
            raise ValueError("drawdown shares must be 0 or more and sum to 1")

    def payment_date(self, payment_id: str) -> date:
        """When a payment is made."""
        if payment_id in self.payment_dates:
            return self.payment_dates[payment_id]
        if self.settlement_date is None:
            raise ValueError(f"no date for payment {payment_id!r}")
        return self.settlement_date


def _years(start: date, when: date) -> float:
    return (when - start).days / 365.0


_GRID = np.linspace(-12.0, 3.0, 400_001)  # x = ln(1 + r): r from -99.9994 % to +1909 %


def _single_date_irr(
    multiples: np.ndarray, exponents: np.ndarray, shares: np.ndarray
) -> np.ndarray:
    """Solve ``m = Σ s_k exp(x d_k)`` for ``x = ln(1 + r)``; return r.

    ``ln h(x)`` is convex and increasing in x: it is tabulated on a grid of
    step 3.75e-5 and inverted by linear interpolation, which puts the rate
    within about 1e-8 of the exact root for schedules of a few years (tests
    compare with pyxirr). Multiples below the grid give -99.9994 %, above it NaN.
    """
    h = np.zeros_like(_GRID)
    for exponent, share in zip(exponents, shares, strict=True):
        h += share * np.exp(_GRID * exponent)  # one pass per drawdown: no grid × dates matrix
    table = np.log(h)
    result = np.full(multiples.shape, np.nan)
    positive = multiples > 0
    target = np.log(multiples[positive])
    x = np.interp(target, table, _GRID, right=np.nan)
    result[positive] = np.expm1(x)
    result[multiples == 0] = -1.0
    result[multiples == 1] = 0.0  # h(0) = 1 exactly: spare the interpolation's last digits
    return result


def irr_vector(
    invested: np.ndarray,
    received: Mapping[date, np.ndarray],
    schedule: Schedule,
) -> np.ndarray:
    """The financier's IRR (XIRR convention) for every scenario.

    ``invested`` is each scenario's invested amount (drawn on the schedule's
    dates in its shares), ``received`` the amounts paid to the financier per
    payment date. NaN where nothing was invested or no rate balances the
    flows; -100 % where nothing comes back.
    """
    invested = np.asarray(invested, dtype=np.float64)
    first = min(schedule.drawdown_dates)
    shares = np.asarray(schedule.drawdown_shares, dtype=np.float64)
    draw_years = np.array([_years(first, d) for d in schedule.drawdown_dates])
    dates = sorted(received)
    total = sum((np.asarray(received[d], dtype=np.float64) for d in dates), np.zeros_like(invested))
    result = np.full(invested.shape, np.nan)
    ok = invested > 0
    if not dates:
        result[ok] = -1.0
        return result
    if len(dates) == 1:
        exponents = _years(first, dates[0]) - draw_years
        if (exponents < 0).any():
            raise ValueError("a drawdown falls after the payment date")
        multiples = np.where(ok, total / np.where(ok, invested, 1.0), np.nan)
        result[ok] = _single_date_irr(multiples[ok], exponents, shares)
        return result
    return _newton_irr(invested, received, dates, first, draw_years, shares, ok)


def _newton_irr(
    invested: np.ndarray,
    received: Mapping[date, np.ndarray],
    dates: Sequence[date],
    first: date,
    draw_years: np.ndarray,
    shares: np.ndarray,
    ok: np.ndarray,
) -> np.ndarray:
    """Safeguarded Newton on ``x = ln(1 + r)`` for payments on several dates.

    With every drawdown before every payment, ``f(x) = ln Σ P_j e^{-x T_j} -
    ln(I Σ s_k e^{-x t_k})`` is strictly decreasing, so the root is kept in a
    shrinking bracket and a Newton step outside it is replaced by bisection.
    """
    pay_years = np.array([_years(first, d) for d in dates])
    if pay_years.min() < draw_years.max():
        raise ValueError("a drawdown falls after a payment date")
    amounts = np.stack([np.asarray(received[d], dtype=np.float64) for d in dates], axis=1)[ok]
    out = invested[ok]
    total = amounts.sum(axis=1)
    result = np.full(invested.shape, np.nan)
    rates = np.full(out.shape, -1.0)
    live = total > 0
    amounts, out_live = amounts[live], out[live]
    low = np.full(out_live.shape, _GRID[0])
    high = np.full(out_live.shape, _GRID[-1])
    pivot = pay_years.max()
    # Exponents relative to the last payment keep every exp() within range.
    pay_span, draw_span = pivot - pay_years, pivot - draw_years
    x = np.zeros(out_live.shape)

    def f_and_slope(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        paid = amounts * np.exp(np.outer(x, pay_span))
        drawn = shares * np.exp(np.outer(x, draw_span))
        paid_sum, drawn_sum = paid.sum(axis=1), drawn.sum(axis=1)
        value = np.log(paid_sum) - np.log(out_live * drawn_sum)
        slope = (paid @ pay_span) / paid_sum - (drawn @ draw_span) / drawn_sum
        return value, slope

    for _ in range(60):
        value, slope = f_and_slope(x)
        # f decreases in x: f > 0 means the root lies above x.
        low = np.where(value > 0, x, low)
        high = np.where(value <= 0, x, high)
        step = np.where(slope != 0, value / np.where(slope != 0, slope, 1.0), 0.0)
        candidate = x - step
        inside = (candidate > low) & (candidate < high)
        new = np.where(inside, candidate, (low + high) / 2)
        if np.max(np.abs(new - x), initial=0.0) < 1e-11:
            x = new
            break
        x = new
    above = x >= _GRID[-1] - 1e-9
    rates_live = np.expm1(x)
    rates_live[above] = np.nan
    rates[live] = rates_live
    result[ok] = rates
    return result


# ----------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class Summary:
    """The distribution of a figure over the scenarios (NaN values left out)."""

    count: int
    mean: float
    std: float
    minimum: float
    p5: float
    p25: float
    median: float
    p75: float
    p95: float
    maximum: float

    def as_dict(self, digits: int | None = None) -> dict[str, float | int]:
        """JSON form, optionally rounded."""
        out: dict[str, float | int] = {"count": self.count}
        for name in ("mean", "std", "minimum", "p5", "p25", "median", "p75", "p95", "maximum"):
            value = getattr(self, name)
            out[name] = round(value, digits) if digits is not None else value
        return out


def summarise(values: np.ndarray) -> Summary | None:
    """Mean, spread and quantiles of ``values`` (None if none is a number)."""
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return None
    p5, p25, p50, p75, p95 = np.percentile(data, [5, 25, 50, 75, 95])
    return Summary(
        count=int(data.size),
        mean=float(data.mean()),
        std=float(data.std(ddof=1)) if data.size > 1 else 0.0,
        minimum=float(data.min()),
        p5=float(p5),
        p25=float(p25),
        median=float(p50),
        p75=float(p75),
        p95=float(p95),
        maximum=float(data.max()),
    )
