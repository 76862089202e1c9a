"""Checking and shaping the input frame of an estimator.

Every estimator starts here: the columns it names must exist, the outcome must be
numeric, a treatment must be 0/1, groups must not be empty. Problems become
:class:`~utfall.errors.DataInvalid` findings that name the column and, where one
exists, the first offending row (1-based position in the frame, which is the data
row number of a file read with a default index). The service adds the file name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from utfall.errors import DataInvalid, Finding, SpecInvalid

__all__ = [
    "binary",
    "complete_rows",
    "covariate_matrix",
    "covariate_variables",
    "numeric",
    "require_columns",
]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def _row_number(frame: pd.DataFrame, position: int) -> int:
    """1-based row number of a position, read from an integer index when there is one."""
    label = frame.index[position]
    if isinstance(label, (int, np.integer)):
        return int(label) + 1
    return position + 1


def _position(frame: pd.DataFrame, row: int | None) -> int:
    """Inverse of :func:`_row_number` for a row it produced."""
    for position in range(len(frame)):
        if _row_number(frame, position) == row:
            return position
    return 0


def require_columns(frame: pd.DataFrame, columns: dict[str, str | None]) -> None:
    """Raise DataInvalid naming every role whose column is not in ``frame``.

    ``columns`` maps a role (``outcome``, ``treatment`` …) to the column named for it.
    """
    present = set(map(str, frame.columns))
    findings = [
        Finding(
            code="missing_column",
            message=(
                f"there is no column {column!r} (named as {role}); "
                f"columns are: {', '.join(sorted(present))}"
            ),
            field_name=column,
        )
        for role, column in columns.items()
        if column is not None and column not in present
    ]
    if findings:
        raise DataInvalid("the data lacks columns the evaluation needs", findings)


def covariate_variables(covariates: Sequence[str]) -> list[str]:
    """The data columns a list of covariate terms reads (``I(age**2)`` reads ``age``)."""
    if not covariates:
        return []
    from formulaic import Formula  # type: ignore[import-untyped]

    names: set[str] = set()
    for term in covariates:
        try:
            names |= {str(v) for v in Formula(term).required_variables}
        except Exception as error:  # formulaic raises several parser errors
            raise SpecInvalid(f"covariates: cannot read the term {term!r}: {error}") from error
    return sorted(names)


def complete_rows(frame: pd.DataFrame, columns: Iterable[str | None]) -> tuple[pd.DataFrame, int]:
    """Rows with a value in every one of ``columns``, and how many rows were dropped."""
    used = [c for c in dict.fromkeys(columns) if c is not None]
    mask = frame[used].notna().all(axis=1)
    kept = frame.loc[mask]
    return kept, int((~mask).sum())


def numeric(frame: pd.DataFrame, column: str, role: str) -> FloatArray:
    """The column as float64, or DataInvalid naming the first value that is not a number."""
    series = frame[column]
    if pd.api.types.is_bool_dtype(series.dtype):
        return np.asarray(series.to_numpy(dtype=np.float64), dtype=np.float64)
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        converted = pd.to_numeric(series, errors="coerce")
        bad = converted.isna() & series.notna()
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataInvalid(
                f"the {role} column {column!r} is not numeric",
                [
                    Finding(
                        code="not_numeric",
                        message=(f"the {role} must be a number; found {series.iloc[position]!r}"),
                        row=_row_number(frame, position),
                        field_name=column,
                    )
                ],
            )
        values = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.all(np.isfinite(values[~np.isnan(values)])):
        position = int(np.flatnonzero(np.isinf(values))[0])
        raise DataInvalid(
            f"the {role} column {column!r} holds an infinite value",
            [
                Finding(
                    code="not_finite",
                    message=f"the {role} must be finite",
                    row=_row_number(frame, position),
                    field_name=column,
                )
            ],
        )
    return np.asarray(values, dtype=np.float64)


def binary(frame: pd.DataFrame, column: str, role: str) -> FloatArray:
    """The column as a 0/1 float array, or DataInvalid naming the first other value."""
    try:
        values = numeric(frame, column, role)
    except DataInvalid as error:
        if error.findings and error.findings[0].code == "not_numeric":
            first = error.findings[0]
            raise DataInvalid(
                f"the {role} column {column!r} is not 0/1",
                [
                    Finding(
                        code="not_binary",
                        message=f"the {role} must be 0 or 1; found "
                        f"{frame[column].iloc[_position(frame, first.row)]!r}",
                        row=first.row,
                        field_name=column,
                    )
                ],
            ) from None
        raise
    bad = ~np.isin(values, (0.0, 1.0)) & ~np.isnan(values)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise DataInvalid(
            f"the {role} column {column!r} is not 0/1",
            [
                Finding(
                    code="not_binary",
                    message=(f"the {role} must be 0 or 1; found {frame[column].iloc[position]!r}"),
                    row=_row_number(frame, position),
                    field_name=column,
                )
            ],
        )
    return values


def require_both_groups(treatment: FloatArray, column: str, *, what: str = "rows") -> None:
    """DataInvalid when no unit is treated or none is a control."""
    treated = int(np.sum(treatment == 1))
    control = int(np.sum(treatment == 0))
    if treated == 0 or control == 0:
        empty = "treated (1)" if treated == 0 else "control (0)"
        raise DataInvalid(
            f"the {empty} group is empty",
            [
                Finding(
                    code="empty_group",
                    message=(
                        f"no {what} have {column} = {1 if treated == 0 else 0}; "
                        f"the comparison needs both groups ({treated} treated, {control} control)"
                    ),
                    field_name=column,
                )
            ],
        )


def covariate_matrix(
    frame: pd.DataFrame, covariates: Sequence[str]
) -> tuple[FloatArray, list[str]]:
    """The design columns of ``covariates`` (no intercept), full rank in the categoricals.

    Terms are formulaic terms: a column name, ``C(x)`` for a categorical,
    ``I(x**2)`` for a transform. Non-numeric columns become dummies for every level
    but the first.
    """
    if not covariates:
        return np.zeros((len(frame), 0)), []
    from formulaic import model_matrix

    formula = "1 + " + " + ".join(covariates)
    try:
        matrix = model_matrix(formula, frame, na_action="raise")
    except Exception as error:  # formulaic raises several evaluation errors
        raise SpecInvalid(f"covariates: cannot build {formula!r}: {error}") from error
    names = [str(c) for c in matrix.columns if str(c) != "Intercept"]
    values = np.asarray(matrix[names], dtype=np.float64)
    return values, names


def constant_within(
    frame: pd.DataFrame, value: FloatArray, groups: np.ndarray[Any, Any], column: str, by: str
) -> None:
    """DataInvalid when ``value`` is not constant within each group of ``by``."""
    table = pd.DataFrame({"g": groups, "v": value})
    spread = table.groupby("g", sort=False)["v"].nunique()
    if (spread > 1).any():
        offender = spread.index[spread.to_numpy() > 1][0]
        raise DataInvalid(
            f"{column!r} changes within a {by}",
            [
                Finding(
                    code="not_constant_within_unit",
                    message=f"{column} must be the same on every row of a {by}; "
                    f"{by} {offender!r} has both values",
                    field_name=column,
                )
            ],
        )


def factorize(values: pd.Series) -> tuple[np.ndarray[Any, np.dtype[np.int64]], int]:
    """Integer codes 0..G-1 for a key column and the number of distinct keys."""
    codes, uniques = pd.factorize(values, sort=True)
    return np.asarray(codes, dtype=np.int64), len(uniques)


class UnitIndex:
    """Rows grouped by unit, to resample or permute whole units."""

    def __init__(self, codes: np.ndarray[Any, np.dtype[np.int64]], count: int):
        self.codes = codes
        self.count = count
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(count + 1))
        self.rows = [order[bounds[i] : bounds[i + 1]] for i in range(count)]
        self.sizes = np.diff(bounds)

    def expand(
        self, sample: np.ndarray[Any, np.dtype[np.int64]]
    ) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]]]:
        """Rows of the drawn units and a fresh unit code per draw (repeats are new units)."""
        rows = np.concatenate([self.rows[u] for u in sample])
        fresh = np.repeat(np.arange(len(sample), dtype=np.int64), self.sizes[sample])
        return rows, fresh

    def first(self, values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """The value on each unit's first row (for values constant within a unit)."""
        return values[np.array([r[0] for r in self.rows], dtype=np.int64)]


def plain(value: Any) -> Any:
    """A label as a JSON-friendly value: numbers, text and booleans stay, others become text."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return str(value)
