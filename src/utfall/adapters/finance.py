"""Finance files in, parsed objects out: what ``utfall cashflows`` and ``utfall simulate`` read.

* :func:`finance_plan_read` — a finance plan (YAML), checked against its contract;
* :func:`scenarios_read` — a scenarios file (CSV, Parquet, JSON or YAML: one row per
  scenario, columns named after the contract's inputs) as
  :class:`~utfall.services.finance.Scenarios`.

The services (:mod:`utfall.services.finance`) never open a file; the platform hands
them the plan text and the tables it stores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from utfall.adapters.files import read_text
from utfall.core.contracts import Contract
from utfall.core.contracts.yamlio import read_yaml
from utfall.errors import UserError
from utfall.services.finance import LoadedPlan, Scenarios, finance_plan_parse, scenarios_from_rows

__all__ = ["SCENARIO_SUFFIXES", "finance_plan_read", "scenarios_read"]

SCENARIO_SUFFIXES = (".csv", ".parquet", ".json", ".yaml", ".yml")


def finance_plan_read(path: Path | str, contract: Contract) -> LoadedPlan:
    """Read the finance plan in ``path`` and check it against ``contract`` (FindingsError
    lists every problem with its line)."""
    return finance_plan_parse(
        read_text(path, what="finance plan"), source=str(path), contract=contract
    )


def scenarios_read(path: Path | str) -> Scenarios:
    """The scenarios in ``path``: one row per scenario (UserError if it cannot be read)."""
    file = Path(path)
    source = str(file)
    if not file.is_file():
        raise UserError(f"{file}: no such scenarios file")
    suffix = file.suffix.lower()
    if suffix not in SCENARIO_SUFFIXES:
        raise UserError(f"{file}: scenarios are read from .csv, .parquet, .json or .yaml")
    if suffix in {".json", ".yaml", ".yml"}:
        text = read_text(file, what="scenarios")
        try:
            rows = json.loads(text) if suffix == ".json" else read_yaml(text, source=source).data
        except json.JSONDecodeError as error:
            raise UserError(
                f"{file}:{error.lineno}: the scenarios cannot be read: {error.msg}"
            ) from None
        except ValueError as error:
            raise UserError(f"{file}: the scenarios cannot be read: {error.args[0]}") from None
        except RecursionError:
            raise UserError(f"{file}: the scenarios cannot be read: nested too deeply") from None
        return scenarios_from_rows(rows, source=source)
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return Scenarios(pq.read_table(file), source, row_offset=1)
        import pyarrow.csv as pacsv

        return Scenarios(pacsv.read_csv(file), source, row_offset=2)
    except (pa.ArrowInvalid, OSError) as error:
        raise UserError(f"{file}: the scenarios cannot be read: {error}") from None
