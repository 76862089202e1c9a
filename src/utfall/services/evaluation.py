"""Evaluation specs: read one, load its data, run the estimator it names.

A spec is a small YAML file::

    data: participants.csv          # CSV or Parquet, relative to the spec file
    method: ipw
    outcome: wt82_71
    treatment: qsmk
    covariates: [sex, age, "I(age**2)", "C(education)"]
    subgroup: sex                   # optional: one estimate per level
    ci: {method: bootstrap, level: 0.95, reps: 999}
    seed: 20240101
    estimand: ATE                   # method options, at the top level ...
    options: {trim: 0.01}           # ... or in an ``options`` block

:func:`load_spec` validates it into an :class:`EvaluationSpec` (raising
:class:`~utfall.errors.SpecInvalid` that names the spec file, line and key),
:func:`evaluate_spec` reads the data with DuckDB and dispatches on ``method``
(:data:`METHODS`), :func:`evaluate_file` does both. Data problems raise
:class:`~utfall.errors.DataInvalid` whose findings name the data file, line and
column.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from utfall.core.evaluation.result import Estimate
from utfall.errors import DataInvalid, EvaluationError, SpecInvalid
from utfall.services.files import read_text

__all__ = [
    "METHODS",
    "CiSpec",
    "EvaluationSpec",
    "evaluate_file",
    "evaluate_spec",
    "load_data",
    "load_spec",
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
)


class CiSpec(BaseModel):
    """The ``ci`` block: how uncertainty is quantified."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["analytic", "bootstrap", "permutation"] = "analytic"
    level: float = Field(default=0.95, ge=0.5, lt=1)
    reps: int = Field(default=999, ge=1)
    interval: Literal["bca", "percentile"] = "bca"


class EvaluationSpec(BaseModel):
    """A validated evaluation spec; ``data`` is an absolute path.

    ``options`` holds every method-specific key (``estimand``, ``trim``,
    ``neighbours``, ``distance``, ``reliability``, ``higher_is_better``,
    ``allow_staggered`` …), whether written at the top level or in ``options:``.
    ``source`` is the spec file (for messages).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: Path
    method: str
    outcome: str | None = None
    treatment: str | None = None
    unit: str | None = None
    time: str | None = None
    post: str | None = None
    covariates: list[str] = Field(default_factory=list)
    subgroup: str | None = None
    ci: CiSpec = Field(default_factory=CiSpec)
    seed: int | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    source: Path | None = None
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    def where(self, key: str | None = None) -> str:
        """``spec.yaml:LINE`` for a key (or just the file), for messages."""
        name = str(self.source) if self.source else "evaluation spec"
        line = self._lines.get(key or "")
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


@dataclass(frozen=True)
class _Method:
    """How a spec maps onto one generic estimator."""

    estimator: str  # "module:function" under utfall.core.evaluation
    required: tuple[str, ...]
    optional: tuple[str, ...]
    options: type[_Options]
    # spec field -> keyword argument of the estimator, where they differ
    rename: tuple[tuple[str, str], ...] = ()


_GENERIC: dict[str, _Method] = {
    "difference_in_means": _Method(
        "means:difference_in_means",
        ("outcome", "treatment"),
        ("unit",),
        _MeansOptions,
        (("unit", "cluster"),),
    ),
    "did": _Method(
        "panel:did", ("outcome", "treatment", "post"), ("unit", "covariates"), _DidOptions
    ),
    "twfe": _Method(
        "panel:twfe", ("outcome", "treatment", "unit", "time"), ("covariates",), _TwfeOptions
    ),
    "ipw": _Method("weighting:ipw", ("outcome", "treatment", "covariates"), (), _IpwOptions),
    "matching": _Method(
        "nearest_neighbour:matching", ("outcome", "treatment", "covariates"), (), _MatchingOptions
    ),
    "pre_post": _Method("prepost:pre_post", ("outcome", "unit", "time"), (), _PrePostOptions),
    "synthetic_control": _Method(
        "synthetic:synthetic_control",
        ("outcome", "unit", "time", "treatment"),
        ("post", "covariates"),
        _SyntheticOptions,
    ),
}

_FIELD_HELP = {
    "outcome": "the outcome column",
    "treatment": "the 0/1 treatment column",
    "unit": "the unit (person, cluster) column",
    "time": "the period or wave column",
    "post": "the 0/1 column marking the period after the start",
    "covariates": "a list of covariate columns or terms",
}


def _run_generic(spec: EvaluationSpec) -> Estimate:
    from importlib import import_module

    method = _GENERIC[spec.method]
    options = _method_options(spec, method.options)
    frame = load_data(spec.data)
    _check_columns(spec, frame.columns)
    # The statistics stack is imported only once the spec and the data check out.
    from utfall.core.evaluation.inference import Inference
    from utfall.core.evaluation.subgroups import by_subgroup

    module, function = method.estimator.split(":")
    estimator = getattr(import_module(f"utfall.core.evaluation.{module}"), function)
    kwargs: dict[str, Any] = {}
    rename = dict(method.rename)
    for key in (*method.required, *method.optional):
        value = getattr(spec, key)
        if key == "covariates":
            value = list(value)
        if value is not None:
            kwargs[rename.get(key, key)] = value
    kwargs.update(options)
    kwargs["inference"] = Inference(
        method=spec.ci.method,
        level=spec.ci.level,
        reps=spec.ci.reps,
        seed=spec.seed,
        interval=spec.ci.interval,
    )
    if spec.subgroup:
        return by_subgroup(estimator, frame, spec.subgroup, **kwargs)
    return estimator(frame, **kwargs)


def _run_trend_adjusted(spec: EvaluationSpec) -> Estimate:
    from utfall.services.evaluation_scale import run_trend_adjusted

    result: Estimate = run_trend_adjusted(spec)
    return result


def _run_historical_reference(spec: EvaluationSpec) -> Estimate:
    from utfall.services.evaluation_scale import run_historical_reference

    result: Estimate = run_historical_reference(spec)
    return result


Adapter = Callable[[EvaluationSpec], Estimate]

#: method name → adapter that runs it from a spec.
METHODS: dict[str, Adapter] = {
    **{name: _run_generic for name in _GENERIC},
    "trend_adjusted": _run_trend_adjusted,
    "historical_reference": _run_historical_reference,
}


# --- reading ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """YAML decimals become floats (statistics, not money), recursively."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_spec(path: Path | str) -> EvaluationSpec:
    """Read and validate an evaluation spec; SpecInvalid names the file, line and key."""
    from utfall.core.contracts.yamlio import read_yaml

    spec_path = Path(path)
    try:
        text = read_text(spec_path, what="evaluation spec")
    except SpecInvalid:
        raise
    except Exception as error:
        raise SpecInvalid(str(error)) from None
    try:
        document = read_yaml(text, source=str(spec_path), what="the evaluation spec")
    except ValueError as error:
        raise SpecInvalid(str(error.args[0])) from None
    raw = document.data
    if not isinstance(raw, dict):
        raise SpecInvalid(f"{spec_path}: an evaluation spec is a mapping of keys (data, method, …)")

    def line(*key: Any) -> str:
        found, _ = document.position(key)
        return f"{spec_path}:{found}" if found else str(spec_path)

    fields: dict[str, Any] = {}
    options: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key, value in raw.items():
        found, _ = document.position((key,))
        if found:
            lines[str(key)] = found
        if key == "options":
            if not isinstance(value, dict):
                raise SpecInvalid(f"{line(key)}: options must be a mapping of option: value")
            for name, option in value.items():
                if name in options:
                    raise SpecInvalid(f"{line(key, name)}: option {name!r} is given twice")
                options[str(name)] = _plain(option)
                found, _ = document.position((key, name))
                if found:
                    lines[str(name)] = found
        elif key in SPEC_KEYS:
            fields[str(key)] = _plain(value)
        else:
            if key in options:
                raise SpecInvalid(f"{line(key)}: option {key!r} is given twice")
            options[str(key)] = _plain(value)

    method = fields.get("method")
    if not isinstance(method, str) or not method:
        raise SpecInvalid(
            f"{line('method') if 'method' in raw else spec_path}: method: name the estimator, "
            f"one of {', '.join(sorted(METHODS))}"
        )
    if method not in METHODS:
        raise SpecInvalid(
            f"{line('method')}: method: {method!r} is not a known estimator; "
            f"known: {', '.join(sorted(METHODS))}"
        )
    if "data" not in fields or not isinstance(fields["data"], str) or not fields["data"]:
        raise SpecInvalid(f"{spec_path}: data: give the path of a CSV or Parquet file")
    data = Path(fields["data"])
    if not data.is_absolute():
        data = spec_path.resolve().parent / data
    data = data.resolve()
    if not data.exists():
        raise SpecInvalid(f"{line('data')}: data: {data} does not exist")
    fields["data"] = data
    covariates = fields.get("covariates")
    if isinstance(covariates, str):
        fields["covariates"] = [covariates]
    elif covariates is None:
        fields.pop("covariates", None)
    if "ci" in fields and fields["ci"] is None:
        fields.pop("ci")
    try:
        spec = EvaluationSpec(**fields, options=options, source=spec_path)
    except ValidationError as error:
        first = error.errors()[0]
        where = tuple(first["loc"])
        key = ".".join(str(p) for p in where)
        raise SpecInvalid(f"{line(*where)}: {key}: {first['msg']}") from None
    spec._lines.update(lines)
    if method in _GENERIC:
        _method_options(spec, _GENERIC[method].options)
        _check_fields(spec, _GENERIC[method])
    return spec


def _method_options(spec: EvaluationSpec, model: type[_Options]) -> dict[str, Any]:
    """The spec's options validated for the method (unknown keys are errors)."""
    try:
        parsed = model(**spec.options)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "options"
        if first["type"] == "extra_forbidden":
            known = ", ".join(model.model_fields) or "none"
            message = (
                f"{name!r} is neither a spec key nor an option of {spec.method} "
                f"(spec keys: {', '.join(SPEC_KEYS)}; {spec.method} options: {known})"
            )
        else:
            message = f"{name}: {first['msg']}"
        raise SpecInvalid(f"{spec.where(name)}: {message}") from None
    return {k: getattr(parsed, k) for k in parsed.model_fields_set}


def _check_fields(spec: EvaluationSpec, method: _Method) -> None:
    for key in method.required:
        value = getattr(spec, key)
        if value is None or (key == "covariates" and not value):
            raise SpecInvalid(
                f"{spec.where()}: method {spec.method} needs {key!r} ({_FIELD_HELP[key]})"
            )
    used = {*method.required, *method.optional}
    for key in ("treatment", "unit", "time", "post", "covariates"):
        if key not in used and getattr(spec, key):
            raise SpecInvalid(
                f"{spec.where(key)}: {key}: method {spec.method} does not use {key!r}; "
                "remove it so the spec says what is estimated"
            )


def load_data(path: Path) -> Any:
    """A CSV or Parquet file as a pandas DataFrame (read by DuckDB), row order kept."""
    import duckdb

    suffix = path.suffix.lower()
    connection = duckdb.connect()
    try:
        if suffix in {".parquet", ".pq"}:
            relation = connection.read_parquet(str(path))
        elif suffix in {".csv", ".tsv", ".txt"}:
            relation = connection.read_csv(str(path))
        else:
            raise SpecInvalid(f"data: {path} is neither a .csv nor a .parquet file")
        return relation.df()
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0]
        raise DataInvalid(
            f"{path}: cannot be read as a table",
            [_finding(path, "unreadable", first)],
        ) from None
    finally:
        connection.close()


def _finding(path: Path, code: str, message: str) -> Any:
    from utfall.errors import Finding

    return Finding(code=code, message=message, file=str(path))


def _check_columns(spec: EvaluationSpec, columns: Any) -> None:
    from utfall.core.evaluation._frame import covariate_variables

    present = [str(c) for c in columns]
    wanted: list[tuple[str, str]] = [
        (key, getattr(spec, key))
        for key in ("outcome", "treatment", "unit", "time", "post", "subgroup")
        if getattr(spec, key)
    ]
    try:
        wanted += [("covariates", c) for c in covariate_variables(spec.covariates)]
    except SpecInvalid as error:
        raise SpecInvalid(f"{spec.where('covariates')}: {error}") from None
    for key, column in wanted:
        if column not in present:
            raise SpecInvalid(
                f"{spec.where(key)}: {key}: column {column!r} is not in {spec.data} "
                f"(columns: {', '.join(present)})"
            )


# --- running ------------------------------------------------------------------------


def _locate(error: DataInvalid, spec: EvaluationSpec) -> DataInvalid:
    """The same findings, with the data file (and, for CSV, its line) filled in."""
    csv = spec.data.suffix.lower() in {".csv", ".tsv", ".txt"}
    findings = [
        replace(
            f,
            file=f.file or str(spec.data),
            line=f.line if f.line is not None or f.row is None or not csv else f.row + 1,
        )
        for f in error.findings
    ]
    summary = error.summary
    if not summary.startswith(str(spec.data)):
        summary = f"{spec.data}: {summary}"
    return DataInvalid(summary, findings)


def evaluate_spec(spec: EvaluationSpec) -> Estimate:
    """Run the estimator ``spec.method`` on ``spec.data``.

    Raises SpecInvalid (naming the spec file) for options the method cannot take,
    DataInvalid (naming the data file, line and column) for bad data, and
    EvaluationError when the estimator cannot produce a number.
    """
    adapter = METHODS.get(spec.method)
    if adapter is None:
        raise SpecInvalid(
            f"{spec.where('method')}: method: {spec.method!r} is not a known estimator; "
            f"known: {', '.join(sorted(METHODS))}"
        )
    try:
        estimate = adapter(spec)
    except DataInvalid as error:
        raise _locate(error, spec) from None
    except SpecInvalid as error:
        text = str(error)
        if spec.source is not None and not text.startswith(str(spec.source)):
            key = text.split(":", 1)[0].split(".", 1)[0]
            raise SpecInvalid(f"{spec.where(key)}: {text}") from None
        raise
    except EvaluationError as error:
        raise EvaluationError(f"{spec.where()}: {error}") from None
    if not math.isfinite(estimate.estimate):
        raise EvaluationError(f"{spec.where()}: {spec.method} produced no finite estimate")
    return estimate


def evaluate_file(path: Path | str) -> Estimate:
    """Load the spec at ``path`` and run it."""
    return evaluate_spec(load_spec(path))
