"""What an evaluation asks for: the spec, validated before any data is read.

A spec names its method, the table it reads and the columns each role of the
method takes, how uncertainty is quantified and the method's options. It comes
from a contract's ``evaluations:`` (``data`` is then a declared table, joined to
the participants) or from a stand-alone spec file (``data`` is a file path the
reader resolved). :func:`spec_validate` turns either mapping into an
:class:`EvaluationSpec`, raising :class:`~utfall.errors.SpecInvalid` located at
the key that is wrong; :data:`METHOD_RULES` says which keys and options each
method takes. Running a spec is the job of :mod:`utfall.services.evaluation`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from utfall.core.evaluation.sensitivity import SensitivitySpec
from utfall.errors import SpecInvalid

__all__ = [
    "FRAME_KEYS",
    "METHOD_RULES",
    "SPEC_KEYS",
    "CiSpec",
    "EvaluationSpec",
    "MethodRule",
    "RateCardOutcome",
    "SpecBody",
    "method_options",
    "spec_validate",
]

SPEC_KEYS = (
    "data",
    "method",
    "outcome",
    "treatment",
    "unit",
    "time",
    "post",
    "covariates",
    "subgroup",
    "ci",
    "seed",
    "options",
    "where",
    "per",
    "span",
    "periods",
    "sensitivity",
)
FRAME_KEYS = ("where", "per", "span", "periods")
"""Keys that shape a declared table into the method's frame (contract evaluations)."""

Locator = Callable[[tuple[str, ...]], str]


class CiSpec(BaseModel):
    """The ``ci`` block: how uncertainty is quantified."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["analytic", "bootstrap", "permutation", "randomisation", "wild_bootstrap"] = (
        "analytic"
    )
    level: float = Field(default=0.95, ge=0.5, lt=1)
    reps: int = Field(default=999, ge=1)
    interval: Literal["bca", "percentile"] = "bca"
    weights: Literal["rademacher", "webb"] = Field(
        default="rademacher", description="The wild bootstrap's cluster weights."
    )


class SpecBody(BaseModel):
    """The keys every evaluation has, in a contract or in a spec file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = Field(min_length=1, description="The estimator.")
    outcome: str | None = Field(default=None, description="The outcome column.")
    treatment: str | None = Field(default=None, description="The 0/1 treatment column.")
    unit: str | None = Field(default=None, description="The unit (person, cluster) column.")
    time: str | None = Field(default=None, description="The period or wave column.")
    post: str | None = Field(default=None, description="The 0/1 column of after the start.")
    covariates: list[str] = Field(default_factory=list)
    subgroup: str | None = Field(default=None, description="One estimate per level of it.")
    ci: CiSpec = Field(default_factory=CiSpec)
    seed: int | None = None
    options: dict[str, Any] = Field(default_factory=dict, description="The method's options.")
    where: dict[str, Any] = Field(
        default_factory=dict,
        description="Keep the rows whose column has this value (or one of these values).",
    )
    per: Literal["month"] | None = Field(
        default=None,
        description="Sum the outcome per participant and calendar month; a month without "
        "rows counts as 0.",
    )
    span: Literal["observed", "membership"] = Field(
        default="observed",
        description="With per: month, the months of each participant: from the first to the "
        "last month with rows (observed), or from inclusion to leaving (membership).",
    )
    periods: list[str] = Field(
        default_factory=list,
        description="Contract periods a calendar month is counted in: adds 'period' and "
        "'period_month' (1 for the period's first month).",
    )
    sensitivity: SensitivitySpec | None = Field(
        default=None,
        description="Parallel-trends sensitivity (Rambachan & Roth) of an event study "
        "(twfe with event_study: true, staggered_did): robust intervals and the breakdown "
        "value.",
    )


class EvaluationSpec(SpecBody):
    """A validated spec. ``data`` is a declared table's name or a data file's path.

    ``options`` holds every method-specific key (``estimand``, ``trim``, ``horizon``,
    ``trend_index`` …), whether written at the top level or in ``options:``.
    ``source`` says where the spec was written (for messages).
    """

    data: str = Field(min_length=1)
    source: str | None = None
    lines: dict[str, int] = Field(default_factory=dict, exclude=True, repr=False)

    def where_of(self, key: str | None = None) -> str:
        """``spec.yaml:LINE`` for a key (or just the source), for messages."""
        name = self.source or "evaluation spec"
        line = self.lines.get(key or "")
        return f"{name}:{line}" if line else name


# --- method options -----------------------------------------------------------------


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _MeansOptions(_Options):
    se: Literal["hc2", "classical"] = "hc2"


class _DidOptions(_Options):
    se: Literal["hc2", "hc1", "hc3", "classical"] = "hc2"


class _TwfeOptions(_Options):
    allow_staggered: bool = False
    se: Literal["cluster", "classical"] = "cluster"
    event_study: bool = Field(
        default=False, description="One coefficient per period relative to adoption."
    )
    leads: int | None = Field(default=None, ge=1, description="Periods before adoption shown.")
    lags: int | None = Field(default=None, ge=0, description="Periods from adoption on shown.")
    reference: int = Field(default=-1, description="The omitted relative period.")
    bin_endpoints: bool = Field(
        default=True, description="Periods beyond the window are binned into its endpoints."
    )


class _StaggeredDidOptions(_Options):
    group: str | None = Field(
        default=None,
        min_length=1,
        description="The column of each unit's first treated period (0 or empty: never "
        "treated); or give treatment, an absorbing 0/1 column.",
    )
    control_group: Literal["never_treated", "not_yet_treated"] = "never_treated"
    estimation: Literal["regression", "ipw", "doubly_robust"] = "regression"
    aggregation: Literal["simple", "group", "dynamic", "calendar"] = "group"
    anticipation: int = Field(default=0, ge=0)
    base_period: Literal["varying", "universal"] = "varying"
    uniform_bands: bool = True
    allow_unbalanced: bool = False


class _IpwOptions(_Options):
    estimand: Literal["ATE", "ATT", "ate", "att"] = "ATE"
    trim: float | None = Field(default=None, gt=0, lt=0.5)
    se: Literal["mestimation", "robust"] = "mestimation"


class _MatchingOptions(_Options):
    estimand: Literal["ATT", "ATE", "ATC", "att", "ate", "atc"] = "ATT"
    neighbours: int = Field(default=1, ge=1)
    distance: Literal["mahalanobis", "inverse_variance", "propensity"] = "mahalanobis"
    variance: Literal["sample", "population"] = "sample"
    variance_neighbours: int = Field(default=2, ge=1)
    conditional_variance: Literal["neighbours", "homoskedastic"] = "neighbours"


class _PrePostOptions(_Options):
    baseline: Any = None
    follow_up: Any = None
    reliability: float | None = Field(default=None, ge=0, lt=1)
    higher_is_better: bool = True
    sd_baseline: float | None = Field(default=None, gt=0)
    rci_critical: float = Field(default=1.96, gt=0)
    model: Literal["paired", "mixed"] = "paired"


class _SyntheticOptions(_Options):
    pass


class _TrendAdjustedOptions(_Options):
    trend_index: str = Field(min_length=1, description="The trend index (SLT) table.")
    trend_value: str = "slt"
    trend_period: str | None = None
    trend_time: str | None = None
    contract_value: str = "contract"
    day_value: float | None = None
    scale: Literal["total", "per_employee"] = "total"
    employees: float | None = None
    floor: bool = True
    reading: Literal["reference_scaled", "observed_adjusted"] = Field(
        default="reference_scaled",
        description="reference_scaled: S_e = Σ reference days · SLT_i / SLT_ref,i against the "
        "observed days; observed_adjusted (seed 004): S_n = Σ observed days · SLT_ref,i / SLT_i "
        "against the reference days.",
    )
    backend: Literal["duckdb", "pyspark"] = "duckdb"
    not_yet_observed: Literal["refuse", "no_change"] = Field(
        default="refuse",
        description="Contract months the data do not reach yet (a settlement as of a day "
        "before the period ends): refused, or counted as no change (observed = expected).",
    )


class _HistoricalReferenceOptions(_Options):
    trend: Literal["empirical", "linear"] = "empirical"
    start_month: int | None = None
    horizon: int | None = Field(default=None, ge=0)
    price_index: str | None = None
    price_month: str = "month"
    price_value: str = "index"
    calendar: str = "month"
    treated_value: str = "included"
    subgroup_reference: Literal["matched", "pooled"] = "matched"
    backend: Literal["duckdb", "pyspark"] = "duckdb"


class RateCardOutcome(BaseModel):
    """One priced outcome of a rate card (docs/evaluation.md, ``rate_card``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    price: str = Field(min_length=1, description="The contract parameter holding its price.")
    requires: str | None = Field(
        default=None,
        description="An outcome the participant must have achieved on or before this one.",
    )
    window_months: int | None = Field(
        default=None,
        ge=1,
        description="Counts only up to this many months after inclusion (the card's "
        "window_months when not given).",
    )
    max_per_participant: int = Field(
        default=1, ge=1, description="How many times one participant may be paid for it."
    )
    cap: str | None = Field(
        default=None, description="A money parameter capping what this outcome earns in total."
    )
    prices_by_group: dict[str, str] = Field(
        default_factory=dict,
        description="Value of the price group column → the parameter of its price (else "
        "``price``).",
    )


class _RateCardOptions(_Options):
    outcomes: dict[str, RateCardOutcome] = Field(
        min_length=1, description="The priced outcomes, in the order the card lists them."
    )
    outcome_column: str = Field(
        default="outcome", description="The events' choice column naming the outcome."
    )
    evidence_column: str | None = Field(
        default="evidence", description="The events' column holding the evidence, if any."
    )
    require_evidence: bool = Field(
        default=False, description="Whether an event without evidence goes unpaid."
    )
    price_group: str | None = Field(
        default=None, description="The participants' column a price may depend on."
    )
    window_months: int | None = Field(
        default=None,
        ge=1,
        description="Every outcome counts only up to this many months after inclusion.",
    )
    cap_per_participant: str | None = Field(
        default=None, description="A money parameter capping what one participant earns."
    )
    cap_total: str | None = Field(
        default=None, description="A money parameter capping what the card earns in total."
    )
    period: str | None = Field(
        default=None, description="The contract period outside which nothing counts."
    )


class _AggregateOptions(_Options):
    statistic: Literal["sum", "count", "mean", "latest", "ratio"] = "sum"
    denominator: str | None = None
    by: str | None = Field(default=None, description="A column giving one value per level.")
    levels: list[str] | None = Field(
        default=None, description="The levels of ``by``, in the order the series takes them."
    )
    levels_from: Literal["parties"] | None = None
    role: str | None = None
    empty: Literal["zero", "error"] = "error"
    dated: Literal["up_to", "before"] = Field(
        default="up_to",
        description="The rows counted: those dated up to the day the data is taken (up_to), "
        "or only those dated before it (before), e.g. payments dated with the period they "
        "pay, so that a settlement of a period never counts that period's own payment.",
    )


class _ShareChangeOptions(_Options):
    direction: Literal["higher_is_better", "lower_is_better"] = Field(
        description="The indicator's good direction: a rise (higher_is_better) or a fall "
        "(lower_is_better) in the share meeting it is an outcome."
    )
    n_column: str = Field(
        default="n", description="The integer column of the individuals measured (n)."
    )
    count_column: str = Field(
        default="count", description="The integer column of those meeting the indicator."
    )
    baseline_column: str = Field(
        default="baseline", description="The boolean column marking the baseline row."
    )
    places: int = Field(default=4, ge=0, le=12, description="Decimals of the units, rounded down.")
    empty: Literal["zero", "error"] = Field(
        default="error",
        description="No rows, or no row after the baseline yet: 0 units (zero) or refused.",
    )
    se: Literal["hc2", "classical"] = Field(
        default="hc2", description="The standard error of the difference in means."
    )


@dataclass(frozen=True)
class MethodRule:
    """Which spec keys a method needs and takes, and its options."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    options: type[_Options]
    # The generic estimator behind it ("module:function" under utfall.core.evaluation),
    # with spec field -> keyword argument where they differ; None for a service adapter.
    estimator: str | None = None
    rename: tuple[tuple[str, str], ...] = ()
    participants: bool = False  # needs the participants table (rate cards)


METHOD_RULES: dict[str, MethodRule] = {
    "difference_in_means": MethodRule(
        ("outcome", "treatment"),
        ("unit", "subgroup"),
        _MeansOptions,
        "means:difference_in_means",
        (("unit", "cluster"),),
    ),
    "did": MethodRule(
        ("outcome", "treatment", "post"),
        ("unit", "covariates", "subgroup"),
        _DidOptions,
        "panel:did",
    ),
    "twfe": MethodRule(
        ("outcome", "treatment", "unit", "time"),
        ("covariates", "subgroup"),
        _TwfeOptions,
        "panel:twfe",
    ),
    "staggered_did": MethodRule(
        ("outcome", "unit", "time"),
        ("treatment", "covariates"),
        _StaggeredDidOptions,
        "staggered:staggered_did",
    ),
    "ipw": MethodRule(
        ("outcome", "treatment", "covariates"), ("subgroup",), _IpwOptions, "weighting:ipw"
    ),
    "matching": MethodRule(
        ("outcome", "treatment", "covariates"),
        ("subgroup",),
        _MatchingOptions,
        "nearest_neighbour:matching",
    ),
    "pre_post": MethodRule(
        ("outcome", "unit", "time"), ("subgroup",), _PrePostOptions, "prepost:pre_post"
    ),
    "synthetic_control": MethodRule(
        ("outcome", "unit", "time", "treatment"),
        ("post", "covariates", "subgroup"),
        _SyntheticOptions,
        "synthetic:synthetic_control",
    ),
    "trend_adjusted": MethodRule(
        ("outcome",), ("unit", "time", "post", "subgroup"), _TrendAdjustedOptions
    ),
    "historical_reference": MethodRule(
        ("outcome", "unit", "time", "treatment"), ("subgroup",), _HistoricalReferenceOptions
    ),
    "rate_card": MethodRule((), ("subgroup",), _RateCardOptions, participants=True),
    "aggregate": MethodRule((), ("outcome",), _AggregateOptions),
    "share_change": MethodRule((), (), _ShareChangeOptions),
}

SENSITIVITY_METHODS = ("twfe", "staggered_did")
"""Methods whose Estimate carries an event study a ``sensitivity:`` block can read."""

FIELD_HELP = {
    "outcome": "the outcome column",
    "treatment": "the 0/1 treatment column",
    "unit": "the unit (person, cluster) column",
    "time": "the period or wave column",
    "post": "the 0/1 column marking the period after the start",
    "covariates": "a list of covariate columns or terms",
}


def _plain(value: Any) -> Any:
    """YAML decimals become floats (statistics, not money), recursively."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _known() -> str:
    return ", ".join(sorted(METHOD_RULES))


def _fail(locate: Locator, path: tuple[str, ...], reason: str) -> SpecInvalid:
    """A SpecInvalid located at ``path``, carrying the path and the bare reason."""
    return SpecInvalid(f"{locate(path)}: {reason}", path=path, reason=reason)


def method_options(spec: EvaluationSpec, locate: Locator | None = None) -> dict[str, Any]:
    """The spec's options validated for its method (unknown keys are errors); only the
    options the spec sets are returned, so the estimator's own defaults apply."""
    rule = METHOD_RULES[spec.method]
    where = locate or (lambda path: spec.where_of(path[-1] if path else None))
    try:
        parsed = rule.options(**spec.options)
    except ValidationError as error:
        first = error.errors()[0]
        loc = tuple(str(p) for p in first["loc"])
        name = loc[0] if loc else "options"
        if first["type"] == "extra_forbidden":
            known = ", ".join(rule.options.model_fields) or "none"
            message = (
                f"{name!r} is neither a spec key nor an option of {spec.method} "
                f"({spec.method} options: {known})"
            )
        elif first["type"] == "missing":
            message = f"{spec.method} needs the option {'.'.join(loc)!r}"
        else:
            message = f"{'.'.join(loc)}: {first['msg']}"
        raise _fail(where, ("options", *loc), message) from None
    return {k: getattr(parsed, k) for k in parsed.model_fields_set}


def spec_validate(
    raw: Mapping[str, Any],
    *,
    source: str | None,
    locate: Locator,
    top_level_options: bool = True,
    lines: Mapping[str, int] | None = None,
) -> EvaluationSpec:
    """An :class:`EvaluationSpec` from a mapping, or SpecInvalid at ``locate(path)``.

    ``top_level_options`` lets a spec file write a method's options beside the spec
    keys; a contract's evaluation keeps them under ``options:``.
    """
    fields: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, value in raw.items():
        key = str(key)
        if key == "options":
            if value is None:
                continue
            if not isinstance(value, dict):
                raise _fail(locate, (key,), "options must be a mapping of option: value")
            for name, option in value.items():
                if name in options:
                    raise _fail(locate, (key, str(name)), f"option {name!r} is given twice")
                options[str(name)] = _plain(option)
        elif key in SPEC_KEYS:
            fields[key] = _plain(value)
        elif top_level_options:
            if key in options:
                raise _fail(locate, (key,), f"option {key!r} is given twice")
            options[key] = _plain(value)
        else:
            raise _fail(
                locate,
                (key,),
                f"unknown key {key!r} (keys: {', '.join(SPEC_KEYS)}; "
                "a method's options go under options:)",
            )
    method = fields.get("method")
    if not isinstance(method, str) or not method:
        raise _fail(locate, ("method",), f"method: name the estimator, one of {_known()}")
    if method not in METHOD_RULES:
        raise _fail(
            locate,
            ("method",),
            f"method: {method!r} is not a known estimator; known: {_known()}",
        )
    covariates = fields.get("covariates")
    if isinstance(covariates, str):
        fields["covariates"] = [covariates]
    elif covariates is None:
        fields.pop("covariates", None)
    for key in ("ci", "where", "periods"):
        if key in fields and fields[key] is None:
            fields.pop(key)
    try:
        spec = EvaluationSpec(**fields, options=options, source=source, lines=dict(lines or {}))
    except ValidationError as error:
        first = error.errors()[0]
        path = tuple(str(p) for p in first["loc"])
        key = ".".join(path)
        raise _fail(locate, path, f"{key}: {first['msg']}") from None
    rule = METHOD_RULES[method]
    method_options(spec, locate)
    for key in rule.required:
        value = getattr(spec, key)
        if value is None or (key == "covariates" and not value):
            raise _fail(locate, (), f"method {method} needs {key!r} ({FIELD_HELP[key]})")
    used = {*rule.required, *rule.optional}
    for key in ("treatment", "unit", "time", "post", "covariates", "subgroup", "outcome"):
        if key not in used and getattr(spec, key):
            raise _fail(
                locate,
                (key,),
                f"{key}: method {method} does not use {key!r}; "
                "remove it so the spec says what is estimated",
            )
    if spec.span != "observed" and spec.per is None:
        raise _fail(locate, ("span",), "span: applies with per: month only")
    if spec.sensitivity is not None:
        if method not in SENSITIVITY_METHODS:
            raise _fail(
                locate,
                ("sensitivity",),
                f"sensitivity: needs an event study; method {method} has none "
                f"(methods with one: {', '.join(SENSITIVITY_METHODS)})",
            )
        if method == "twfe" and not spec.options.get("event_study"):
            raise _fail(locate, ("sensitivity",), "sensitivity: twfe needs event_study: true")
    return spec
