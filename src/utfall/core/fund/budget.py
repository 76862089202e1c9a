"""The fund's budget by year, what is committed and paid against it, and the forecast.

The pilot's budget is seed 003's table 11 (million SEK, 2023–2028)::

    line                                   2023 2024 2025 2026 2027 2028 total
    operations of the delegation              4    4    4    4    4    4    24
    resources for the agencies involved      10   10   10   10   10   10    60
    phase 0 preparation                       1                               1
    phase 1 call                              1                               1
    phase 2 processing of initiatives              8                          8
    phase 3 implementation (10 pilots)            20   20   40   70  100   250
    phase 4 implementation and dissemination                           21    21
    total                                    16   42   34   54   84  135   365

(The seed's own phase numbers in table 11 run from 0; its text numbers the same
phases 1–5.) At most 170 MSEK of it is outcome payment.

Table 12 splits the same 365 MSEK by actor::

    actor                                     2023 2024 2025 2026 2027 2028 total
    state actors (delegation, agencies, academia) 14  14   14   14   14   14    84
    SKR + RISE                                   2   18   10   10   10   21    71
    constellations                                   10   10   30   60  100   210

Money to the constellations (outcome payments and support) comes out of the
constellations' line only (:class:`ActorBudget`): it never consumes the share of
SKR and RISE or of the state actors, even where table 11 puts both in one line
(phase 3 implementation holds SKR and RISE's support as well as the outcome
payments).

A year's budget does not carry over to the next year (a state appropriation is
yearly); money not paid in a year is simply not spent. Everything here is pure:
a :class:`FundState` is a value, and recording a payment returns a new state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from utfall.errors import UserError

__all__ = [
    "MSEK",
    "PILOT_ACTOR_BUDGET",
    "PILOT_BUDGET",
    "PILOT_OUTCOME_PAYMENT_CEILING",
    "TO_CONSTELLATIONS",
    "Actor",
    "ActorBudget",
    "BudgetExceeded",
    "BudgetLine",
    "Commitment",
    "FundBudget",
    "FundState",
    "Payment",
    "PaymentKind",
    "YearForecast",
    "forecast",
]

MSEK = Decimal(1_000_000)
ORE = Decimal("0.01")
RESERVED_PREFIX = "fund:"
"""A commitment to this prefix + a budget category is the fund's own work, not a
constellation's (see the platform's ``fund_state``)."""


class BudgetExceeded(UserError):
    """A payment or commitment that does not fit in what is left of a year's budget."""


class PaymentKind:
    """What a payment is for (all kinds count against the year's budget)."""

    OUTCOME_PAYMENT = "outcome_payment"
    SUPPORT = "support"
    OPERATIONS = "operations"
    ALL = (OUTCOME_PAYMENT, SUPPORT, OPERATIONS)


TO_CONSTELLATIONS = (PaymentKind.OUTCOME_PAYMENT, PaymentKind.SUPPORT)
"""The payment kinds that go to a constellation (and so come out of its actors' line)."""


class Actor:
    """The actor levels of seed 003's table 12."""

    STATE = "state"
    SKR_RISE = "skr_rise"
    CONSTELLATIONS = "constellations"
    ALL = (STATE, SKR_RISE, CONSTELLATIONS)


def _money(value: Decimal | int | str, what: str) -> Decimal:
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError(f"{what}: {value} is not an amount")
    if amount != amount.quantize(ORE):
        raise ValueError(f"{what}: {value} has fractions of an öre")
    return amount.quantize(ORE)


@dataclass(frozen=True)
class BudgetLine:
    """One line of the budget in one year (a table 11 cell)."""

    year: int
    category: str
    amount: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "amount", _money(self.amount, f"budget {self.category} {self.year}")
        )
        if self.amount < 0:
            raise ValueError(
                f"budget {self.category} {self.year}: a budget line cannot be negative"
            )


@dataclass(frozen=True)
class FundBudget:
    """The fund's budget: lines per year and category; a year's budget is their sum."""

    lines: tuple[BudgetLine, ...]
    outcome_payment_ceiling: Decimal | None = None

    @classmethod
    def from_table(
        cls,
        table: Mapping[str, Mapping[int, Decimal | int | str]],
        *,
        unit: Decimal = MSEK,
        outcome_payment_ceiling: Decimal | None = None,
    ) -> FundBudget:
        """A budget from ``{category: {year: amount in unit}}`` (default unit: MSEK)."""
        lines = tuple(
            BudgetLine(year, category, Decimal(amount) * unit)
            for category, by_year in table.items()
            for year, amount in sorted(by_year.items())
        )
        return cls(lines, outcome_payment_ceiling)

    @property
    def years(self) -> tuple[int, ...]:
        """The budget's years, in order."""
        return tuple(sorted({line.year for line in self.lines}))

    @property
    def categories(self) -> tuple[str, ...]:
        """The budget's categories in the order they first appear."""
        return tuple(dict.fromkeys(line.category for line in self.lines))

    def for_year(self, year: int) -> Decimal:
        """The year's budget (0 for a year outside the budget)."""
        return sum((line.amount for line in self.lines if line.year == year), Decimal("0.00"))

    def for_category(self, category: str) -> Decimal:
        """A category's budget over all years."""
        return sum(
            (line.amount for line in self.lines if line.category == category), Decimal("0.00")
        )

    def by_year(self) -> dict[int, Decimal]:
        """Year → budget."""
        return {year: self.for_year(year) for year in self.years}

    @property
    def total(self) -> Decimal:
        """The whole budget."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))


PILOT_OUTCOME_PAYMENT_CEILING = 170 * MSEK

PILOT_BUDGET = FundBudget.from_table(
    {
        "operations": {y: 4 for y in range(2023, 2029)},
        "agencies": {y: 10 for y in range(2023, 2029)},
        "phase_preparation": {2023: 1},
        "phase_call": {2023: 1},
        "phase_processing": {2024: 8},
        "phase_implementation": {2024: 20, 2025: 20, 2026: 40, 2027: 70, 2028: 100},
        "phase_dissemination": {2028: 21},
    },
    outcome_payment_ceiling=PILOT_OUTCOME_PAYMENT_CEILING,
)


@dataclass(frozen=True)
class ActorBudget:
    """The budget split by actor level and year (seed 003 table 12); each line's
    ``category`` is the actor. ``payee`` is the actor whose line pays the constellations."""

    lines: tuple[BudgetLine, ...]
    payee: str = Actor.CONSTELLATIONS

    @classmethod
    def from_table(
        cls, table: Mapping[str, Mapping[int, Decimal | int | str]], *, unit: Decimal = MSEK
    ) -> ActorBudget:
        """A split from ``{actor: {year: amount in unit}}`` (default unit: MSEK)."""
        return cls(
            tuple(
                BudgetLine(year, actor, Decimal(amount) * unit)
                for actor, by_year in table.items()
                for year, amount in sorted(by_year.items())
            )
        )

    @property
    def actors(self) -> tuple[str, ...]:
        """The actors in the order they first appear."""
        return tuple(dict.fromkeys(line.category for line in self.lines))

    def amount(self, actor: str, year: int | None = None) -> Decimal:
        """An actor's budget in a year (all years when ``year`` is None)."""
        return sum(
            (
                line.amount
                for line in self.lines
                if line.category == actor and (year is None or line.year == year)
            ),
            Decimal("0.00"),
        )

    def fits(self, budget: FundBudget) -> bool:
        """Whether the split adds up, year by year, to ``budget`` (the same money, by actor)."""
        years = set(budget.years) | {line.year for line in self.lines}
        return all(
            sum((line.amount for line in self.lines if line.year == year), Decimal("0.00"))
            == budget.for_year(year)
            for year in years
        )


PILOT_ACTOR_BUDGET = ActorBudget.from_table(
    {
        Actor.STATE: {y: 14 for y in range(2023, 2029)},
        Actor.SKR_RISE: {2023: 2, 2024: 18, 2025: 10, 2026: 10, 2027: 10, 2028: 21},
        Actor.CONSTELLATIONS: {2024: 10, 2025: 10, 2026: 30, 2027: 60, 2028: 100},
    }
)


@dataclass(frozen=True)
class Commitment:
    """Money the fund has promised a constellation for a year (e.g. its outcome-payment frame)."""

    constellation: str
    year: int
    amount: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", _money(self.amount, "commitment"))
        if self.amount < 0:
            raise ValueError("a commitment cannot be negative")


@dataclass(frozen=True)
class Payment:
    """Money the fund has paid, in a budget year, to a constellation (or for its own work)."""

    constellation: str
    year: int
    amount: Decimal
    kind: str = PaymentKind.OUTCOME_PAYMENT
    paid_on: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", _money(self.amount, "payment"))
        if self.amount < 0:
            raise ValueError("a payment cannot be negative")
        if self.kind not in PaymentKind.ALL:
            raise ValueError(f"unknown payment kind {self.kind!r}")


@dataclass(frozen=True)
class FundState:
    """The budget with the commitments and payments made against it so far."""

    budget: FundBudget
    commitments: tuple[Commitment, ...] = ()
    payments: tuple[Payment, ...] = field(default=())
    actors: ActorBudget | None = None

    def __post_init__(self) -> None:
        if self.actors is not None and not self.actors.fits(self.budget):
            raise ValueError("the split by actor does not add up to the budget, year by year")

    def paid(
        self, *, year: int | None = None, constellation: str | None = None, kind: str | None = None
    ) -> Decimal:
        """The sum of payments matching the filters."""
        return sum(
            (
                p.amount
                for p in self.payments
                if (year is None or p.year == year)
                and (constellation is None or p.constellation == constellation)
                and (kind is None or p.kind == kind)
            ),
            Decimal("0.00"),
        )

    def committed(self, *, year: int | None = None, constellation: str | None = None) -> Decimal:
        """The sum of commitments matching the filters."""
        return sum(
            (
                c.amount
                for c in self.commitments
                if (year is None or c.year == year)
                and (constellation is None or c.constellation == constellation)
            ),
            Decimal("0.00"),
        )

    def outstanding(self, *, year: int, constellation: str) -> Decimal:
        """What is committed to a constellation for a year and not yet paid to it that year."""
        committed = self.committed(year=year, constellation=constellation)
        paid = self.paid(year=year, constellation=constellation)
        return max(committed - paid, Decimal("0.00"))

    def remaining(self, year: int) -> Decimal:
        """The year's budget less everything paid in it (never below 0)."""
        return max(self.budget.for_year(year) - self.paid(year=year), Decimal("0.00"))

    def reserved_for_others(self, *, year: int, constellation: str) -> Decimal:
        """What other constellations still have outstanding in commitments for the year."""
        others = {c.constellation for c in self.commitments if c.year == year} - {constellation}
        return sum(
            (self.outstanding(year=year, constellation=other) for other in sorted(others)),
            Decimal("0.00"),
        )

    def paid_to_constellations(self, year: int) -> Decimal:
        """What the year paid to constellations (outcome payments and support)."""
        return sum(
            (p.amount for p in self.payments if p.year == year and p.kind in TO_CONSTELLATIONS),
            Decimal("0.00"),
        )

    def constellations_available(self, *, year: int, constellation: str) -> Decimal | None:
        """What the constellations' line of the year can still pay this constellation: the
        line less what it paid and less the other constellations' outstanding commitments
        (None without a split by actor)."""
        if self.actors is None:
            return None
        others = {
            c.constellation
            for c in self.commitments
            if c.year == year and not c.constellation.startswith(RESERVED_PREFIX)
        } - {constellation}
        outstanding = sum(
            (self.outstanding(year=year, constellation=other) for other in sorted(others)),
            Decimal("0.00"),
        )
        line = self.actors.amount(self.actors.payee, year)
        return max(line - self.paid_to_constellations(year) - outstanding, Decimal("0.00"))

    def available_for(self, *, year: int, constellation: str) -> Decimal:
        """What the year's budget can still pay this constellation without breaking a promise
        to another: the remaining budget less the others' outstanding commitments, and with
        a split by actor never more than the constellations' line has left."""
        available = max(
            self.remaining(year) - self.reserved_for_others(year=year, constellation=constellation),
            Decimal("0.00"),
        )
        if constellation.startswith(RESERVED_PREFIX):
            return available
        line = self.constellations_available(year=year, constellation=constellation)
        return available if line is None else min(available, line)

    def with_payment(self, payment: Payment) -> FundState:
        """A new state with the payment recorded; BudgetExceeded if it does not fit the year."""
        if payment.year not in self.budget.years:
            raise BudgetExceeded(f"{payment.year} is not a year of the fund's budget")
        if payment.kind in TO_CONSTELLATIONS and self.actors is not None:
            line = self.constellations_available(
                year=payment.year, constellation=payment.constellation
            )
            assert line is not None
            if payment.amount > line:
                raise BudgetExceeded(
                    f"a payment of {payment.amount} SEK in {payment.year} exceeds what the "
                    f"constellations' share of the year can still pay {payment.constellation} "
                    f"({line} SEK); it may not consume the share of the other actors"
                )
        available = self.available_for(year=payment.year, constellation=payment.constellation)
        if payment.amount > available:
            raise BudgetExceeded(
                f"a payment of {payment.amount} SEK in {payment.year} exceeds what the year can "
                f"still pay {payment.constellation} ({available} SEK of "
                f"{self.budget.for_year(payment.year)} SEK)"
            )
        ceiling = self.budget.outcome_payment_ceiling
        if payment.kind == PaymentKind.OUTCOME_PAYMENT and ceiling is not None:
            paid = self.paid(kind=PaymentKind.OUTCOME_PAYMENT)
            if paid + payment.amount > ceiling:
                raise BudgetExceeded(
                    f"outcome payments would reach {paid + payment.amount} SEK, above the "
                    f"fund's ceiling of {ceiling} SEK for outcome payments"
                )
        return replace(self, payments=(*self.payments, payment))

    def with_commitment(self, commitment: Commitment) -> FundState:
        """A new state with the commitment; BudgetExceeded if the year's commitments and
        payments to others would exceed the year's budget."""
        if commitment.year not in self.budget.years:
            raise BudgetExceeded(f"{commitment.year} is not a year of the fund's budget")
        state = replace(self, commitments=(*self.commitments, commitment))
        constellations = {c.constellation for c in state.commitments if c.year == commitment.year}
        promised = sum(
            (
                max(
                    state.committed(year=commitment.year, constellation=c),
                    state.paid(year=commitment.year, constellation=c),
                )
                for c in constellations
            ),
            Decimal("0.00"),
        )
        others_paid = state.paid(year=commitment.year) - sum(
            (state.paid(year=commitment.year, constellation=c) for c in constellations),
            Decimal("0.00"),
        )
        if promised + others_paid > self.budget.for_year(commitment.year):
            raise BudgetExceeded(
                f"commitments for {commitment.year} would reach {promised + others_paid} SEK, "
                f"above the year's budget of {self.budget.for_year(commitment.year)} SEK"
            )
        if self.actors is not None and not commitment.constellation.startswith(RESERVED_PREFIX):
            year = commitment.year
            to_constellations = sum(
                (
                    max(
                        state.committed(year=year, constellation=c),
                        state.paid(year=year, constellation=c),
                    )
                    for c in constellations
                    if not c.startswith(RESERVED_PREFIX)
                ),
                Decimal("0.00"),
            )
            line = self.actors.amount(self.actors.payee, year)
            if to_constellations > line:
                raise BudgetExceeded(
                    f"commitments to constellations for {year} would reach "
                    f"{to_constellations} SEK, above the constellations' share of "
                    f"{line} SEK (the other actors' shares are not theirs to commit)"
                )
        return state


@dataclass(frozen=True)
class YearForecast:
    """One budget year: budget, paid, committed, and the forecast spending and headroom."""

    year: int
    budget: Decimal
    paid: Decimal
    committed: Decimal
    outstanding: Decimal
    forecast: Decimal
    headroom: Decimal
    is_past: bool

    @property
    def over_budget(self) -> bool:
        """Whether the forecast exceeds the year's budget."""
        return self.headroom < 0


def forecast(
    state: FundState,
    *,
    today: date,
    planned: Iterable[Payment] = (),
) -> list[YearForecast]:
    """The forecast per budget year as of ``today``.

    A past year's forecast is what was paid in it. For the current and future
    years it is what was paid, plus what is still outstanding on commitments,
    plus ``planned`` payments (e.g. the fund's own operations) not yet made.
    Headroom is the budget less the forecast (negative: over budget).
    """
    planned = tuple(planned)
    rows = []
    for year in state.budget.years:
        budget = state.budget.for_year(year)
        paid = state.paid(year=year)
        committed = state.committed(year=year)
        constellations = sorted({c.constellation for c in state.commitments if c.year == year})
        outstanding = sum(
            (state.outstanding(year=year, constellation=c) for c in constellations),
            Decimal("0.00"),
        )
        is_past = year < today.year
        if is_past:
            projected = paid
        else:
            extra = sum((p.amount for p in planned if p.year == year), Decimal("0.00"))
            projected = paid + outstanding + extra
        rows.append(
            YearForecast(
                year=year,
                budget=budget,
                paid=paid,
                committed=committed,
                outstanding=outstanding if not is_past else Decimal("0.00"),
                forecast=projected,
                headroom=budget - projected,
                is_past=is_past,
            )
        )
    return rows
