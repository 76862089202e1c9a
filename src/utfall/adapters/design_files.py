"""Reading a design spec file: the spec and the data file it names (for the CLI)."""

from __future__ import annotations

from pathlib import Path

from utfall.adapters.files import FileTables, read_text
from utfall.core.contracts.yamlio import read_yaml
from utfall.core.design import DesignSpec, design_spec_validate
from utfall.errors import SpecInvalid

__all__ = ["design_spec_read"]


def design_spec_read(path: Path | str) -> tuple[DesignSpec, FileTables]:
    """A design spec file and the tables it reads (``data``, relative to the file);
    SpecInvalid names the file, line and key."""
    spec_path = Path(path)
    text = read_text(spec_path, what="design spec")
    try:
        document = read_yaml(text, source=str(spec_path), what="the design spec")
    except ValueError as error:
        raise SpecInvalid(str(error.args[0])) from None
    raw = document.data
    if not isinstance(raw, dict):
        raise SpecInvalid(f"{spec_path}: a design spec is a mapping of keys (method, alpha, …)")

    def locate(key: tuple[str, ...]) -> str:
        line, _ = document.position(key[:1]) if key else (None, None)
        return f"{spec_path}:{line}" if line else str(spec_path)

    files: dict[str, Path] = {}
    data = raw.get("data")
    if data is not None:
        if not isinstance(data, str) or not data:
            raise SpecInvalid(f"{locate(('data',))}: data: give the path of a CSV or Parquet file")
        file = Path(data)
        if not file.is_absolute():
            file = spec_path.resolve().parent / file
        file = file.resolve()
        if not file.exists():
            raise SpecInvalid(f"{locate(('data',))}: data: {file} does not exist")
        files[str(file)] = file
        raw = {**raw, "data": str(file)}
    spec = design_spec_validate(raw, source=str(spec_path), locate=locate)
    return spec, FileTables(files)
