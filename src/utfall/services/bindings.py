"""Contract inputs computed from data: each bound input names an evaluation spec.

``inputs: net_savings_sek: {evaluate: ../evaluations/x.yaml, take: cumulative_saving}``
makes ``utfall settle CONTRACT --data-dir DIR`` run that evaluation over the
data in DIR and feed the figure into the contract. The figure's provenance (the
spec, its data file's SHA-256, the estimate with its confidence interval) goes
into the settlement's explanation tree.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from utfall.core.contracts import Contract
from utfall.core.contracts.model import Input
from utfall.core.contracts.values import ORE
from utfall.core.contracts.yamlio import read_yaml
from utfall.core.evaluation.result import Estimate
from utfall.errors import SpecInvalid, UserError
from utfall.services.files import read_text

__all__ = [
    "AUXILIARY_TABLES",
    "BoundInputs",
    "SpecFiles",
    "inputs_evaluate",
    "sha256_file",
    "spec_files",
]


@dataclass(frozen=True)
class BoundInputs:
    """Values computed from data, with where each came from."""

    values: dict[str, Any]
    origins: dict[str, str]
    details: dict[str, dict[str, Any]]
    estimates: dict[str, Estimate]


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in chunks (data files can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _spec_load(spec_path: Path, data_dir: Path | None) -> Any:
    """Load a spec; with ``data_dir``, its data and auxiliary tables are looked up there."""
    from utfall.services.evaluation import load_spec

    spec = load_spec(spec_path)
    if data_dir is None:
        return spec
    files = spec_files(read_text(spec_path, what="evaluation spec"), str(spec_path))
    data = _in_data_dir(files.data_name, data_dir, spec_path, "data")
    # Auxiliary tables named in the options (a price index, a national trend index) are
    # data too: they are looked up in the same directory.
    options = dict(spec.options)
    for key, name in files.auxiliary_names.items():
        options[key] = str(_in_data_dir(name, data_dir, spec_path, key))
    return spec.model_copy(update={"data": data, "options": options})


AUXILIARY_TABLES = ("price_index", "trend_index")


@dataclass(frozen=True)
class SpecFiles:
    """The files an evaluation spec reads: its ``data`` and its auxiliary tables.

    Paths are as the spec names them (relative to the spec file, or absolute);
    with ``--data-dir`` every one is looked up there by its file name.
    """

    data: str
    auxiliary: dict[str, str]

    @property
    def data_name(self) -> str:
        return PurePosixPath(self.data).name

    @property
    def auxiliary_names(self) -> dict[str, str]:
        return {key: PurePosixPath(path).name for key, path in self.auxiliary.items()}


def spec_files(text: str, source: str) -> SpecFiles:
    """The data file and auxiliary tables (``options.price_index``/``trend_index``) of a spec."""
    raw = read_yaml(text, source=source, what="the evaluation spec").data
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), str) or not raw["data"]:
        raise SpecInvalid(f"{source}: data: the evaluation spec names no data file")
    options = raw.get("options")
    auxiliary = {
        key: options[key]
        for key in AUXILIARY_TABLES
        if isinstance(options, dict) and isinstance(options.get(key), str) and options[key]
    }
    return SpecFiles(data=raw["data"], auxiliary=auxiliary)


def _in_data_dir(name: str, data_dir: Path, spec_path: Path, key: str) -> Path:
    path = (data_dir / name).resolve()
    if not name or not path.exists():
        raise SpecInvalid(
            f"{spec_path}: {key}: file {name!r} is not in the data directory {data_dir}"
        )
    return path


def _figure(estimate: Estimate, binding: Input, spec_path: Path) -> Any:
    name = binding.take or "estimate"
    try:
        figure = estimate.take(name)
    except KeyError as error:
        raise SpecInvalid(f"{spec_path}: {error.args[0]}") from None
    if figure is None or (isinstance(figure, float) and not math.isfinite(figure)):
        raise SpecInvalid(f"{spec_path}: the evaluation gives no value for {name!r}")
    return figure


def _convert(figure: Any, binding: Input, spec_path: Path) -> tuple[Any, str]:
    """The figure in the input's type, and a note on any conversion (rounding, threshold)."""
    if binding.type == "boolean":
        if isinstance(figure, bool):
            return figure, ""
        if binding.at_least is None:
            raise SpecInvalid(
                f"{spec_path}: input {binding.name!r} is boolean; give 'at_least' to turn "
                f"the figure {figure!r} into true/false"
            )
        number = Decimal(repr(float(figure)))
        return number >= binding.at_least, f"{number} ≥ {binding.at_least}"
    if isinstance(figure, (list, tuple)):
        element = binding.of or "number"
        items = [Decimal(repr(float(v))) for v in figure]
        if element == "money":
            items = [v.quantize(ORE, rounding=ROUND_HALF_UP) for v in items]
        return items, "rounded to öre (half-up)" if element == "money" else ""
    if isinstance(figure, bool):
        raise SpecInvalid(
            f"{spec_path}: input {binding.name!r} needs a number, the figure is true/false"
        )
    number = Decimal(repr(float(figure))) if isinstance(figure, float) else Decimal(figure)
    if binding.type == "money":
        rounded = number.quantize(ORE, rounding=ROUND_HALF_UP)
        return rounded, f"{number} rounded to öre (half-up)" if rounded != number else ""
    if binding.type == "count":
        whole = number.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return whole, f"{number} rounded to a whole count (half-up)" if whole != number else ""
    return number, ""


def inputs_evaluate(contract: Contract, *, data_dir: Path | None) -> BoundInputs:
    """Run the evaluation behind every bound input of ``contract``.

    Spec paths are relative to the contract file. A spec used by several inputs
    is evaluated once.
    """
    base = Path(contract.source).resolve().parent
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    details: dict[str, dict[str, Any]] = {}
    estimates: dict[str, Estimate] = {}
    cache: dict[Path, tuple[Any, Estimate]] = {}
    from utfall.services.evaluation import evaluate_spec

    for name, binding in contract.inputs.items():
        if not binding.evaluate:
            continue
        spec_path = (base / binding.evaluate).resolve()
        if not spec_path.exists():
            raise UserError(
                f"{contract.source}: input {name!r} names {binding.evaluate}, which does not exist"
            )
        if spec_path not in cache:
            spec = _spec_load(spec_path, data_dir)
            cache[spec_path] = (spec, evaluate_spec(spec))
        spec, estimate = cache[spec_path]
        figure = _figure(estimate, binding, spec_path)
        value, note = _convert(figure, binding, spec_path)
        values[name] = value
        estimates[name] = estimate
        origins[name] = (
            f"evaluation {binding.evaluate} ({estimate.method}, {binding.take or 'estimate'})"
        )
        shown: dict[str, Any] = {
            "data": str(spec.data),
            "data_sha256": sha256_file(Path(spec.data)),
            "method": estimate.method,
            "estimate": estimate.estimate,
            "std_error": estimate.std_error,
            f"ci_{round(estimate.level * 100)}": [estimate.ci_low, estimate.ci_high],
            "n_treated": estimate.n_treated,
            "n_control": estimate.n_control,
            "n_obs": estimate.n_obs,
        }
        if binding.take:
            shown[binding.take] = (
                figure if not isinstance(figure, (list, tuple)) else f"{len(figure)} values"
            )
        if note:
            shown["conversion"] = note
        details[name] = {k: v for k, v in shown.items() if v is not None}
    return BoundInputs(values, origins, details, estimates)
