"""Files for settlement bundles: keys, JSON Lines ledgers, bundle files (for the CLI).

:mod:`utfall.services.bundles` makes and checks bundles as bytes, from objects;
this module is where they meet the file system:

* :func:`keys_generate`, :func:`private_key_load`, :func:`public_key_load` — an
  Ed25519 key pair as PEM files (the private one readable by its owner only);
* :func:`ledger_file_read`, :func:`ledger_file_append` — a ledger as JSON Lines;
* :func:`bundle_write` — settle, sign, and write the bundle and the ledger entries;
* :func:`bundle_read`, :func:`bundle_file_verify` — check a bundle file (with a
  ledger file and a folder of tables, if given);
* :func:`bundle_extract` — the parts as plain files, the tables as ``data/NAME.csv``
  so that ``utfall settle --data-dir`` can run them again.

Every file is written atomically: a reader sees the old file or the new one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from utfall.adapters.files import DirectoryTables, read_text
from utfall.core.contracts import Contract, Settlement
from utfall.core.contracts.data import DataDeclaration
from utfall.core.ledger import (
    LedgerEntry,
    Statement,
    entry_from_dict,
    key_fingerprint,
    private_key_from_pem,
    private_key_pem,
    public_key_from_pem,
    public_key_pem,
    public_key_raw,
    verify_chain,
)
from utfall.errors import BundleUnreadable, UserError
from utfall.services.bundles import (
    BundleWritten,
    LedgerCopy,
    VerificationReport,
    bundle_create,
    bundle_parse,
    bundle_tables,
    bundle_verify,
)
from utfall.services.contracts import Facts
from utfall.services.tables import TableProvider

__all__ = [
    "BundleFile",
    "KeyPair",
    "bundle_extract",
    "bundle_file_verify",
    "bundle_read",
    "bundle_write",
    "keys_generate",
    "ledger_file_append",
    "ledger_file_read",
    "private_key_load",
    "public_key_load",
]


# ----------------------------------------------------------------------------- files


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` all at once: a reader sees the old file or the new one."""
    _replace(_write_temporary(path, data, mode), path)


def _write_temporary(path: Path, data: bytes, mode: int = 0o644) -> Path:
    """``data`` written and synced to a hidden file beside ``path``, ready to replace it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, mode)  # mkstemp makes it 0600; a bundle or public key is for sharing
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _replace(temporary: Path, path: Path) -> None:
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# ----------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class KeyPair:
    """Where :func:`keys_generate` wrote the key pair, and the public key's fingerprint."""

    private_path: Path
    public_path: Path
    fingerprint: str


def keys_generate(out_dir: Path | str, *, force: bool = False) -> KeyPair:
    """Write a new Ed25519 key pair: ``private.pem`` (mode 0600) and ``public.pem``.

    Refuses to overwrite an existing key unless ``force``. The private key file
    is created with its final permissions, so it is never readable by others,
    not even for a moment.
    """
    directory = Path(out_dir)
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{directory}: exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / "private.pem"
    public_path = directory / "public.pem"
    if not force:
        for path in (private_path, public_path):
            if path.exists():
                raise UserError(f"{path}: a key is already there (use --force to replace it)")
    key = Ed25519PrivateKey.generate()
    raw = public_key_raw(key)
    # mkstemp creates the file readable by its owner only (0600) before anything is written.
    _write_atomic(private_path, private_key_pem(key), mode=0o600)
    _write_atomic(public_path, public_key_pem(raw))
    return KeyPair(private_path, public_path, key_fingerprint(raw))


def private_key_load(path: Path | str) -> Ed25519PrivateKey:
    """The Ed25519 private key in a PEM file; refuses a file others can read (as ssh does)."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"{file}: no such private key file")
    mode = stat.S_IMODE(file.stat().st_mode)
    if mode & 0o077:
        raise UserError(
            f"{file}: the private key can be read by others (mode {mode:04o}); "
            f"run `chmod 600 {file}`"
        )
    try:
        return private_key_from_pem(file.read_bytes())
    except ValueError as error:
        raise UserError(f"{file}: {error}") from None


def public_key_load(path: Path | str) -> bytes:
    """The raw 32 bytes of the Ed25519 public key in a PEM file."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"{file}: no such public key file")
    try:
        return public_key_from_pem(file.read_bytes())
    except ValueError as error:
        raise UserError(f"{file}: {error}") from None


# ----------------------------------------------------------------------------- ledger file


def ledger_file_read(path: Path | str) -> list[LedgerEntry]:
    """The entries of a JSON Lines ledger file (one entry per line; none if there is no
    file yet); UserError names the line that is not an entry."""
    file = Path(path)
    if not file.exists():
        return []
    entries: list[LedgerEntry] = []
    for number, line in enumerate(read_text(file, what="ledger").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(entry_from_dict(json.loads(line)))
        except (ValueError, TypeError) as error:
            raise UserError(f"{file}:{number}: not a ledger entry: {error}") from None
    return entries


def _ledger_lines(path: Path, entries: Sequence[LedgerEntry]) -> bytes:
    before = path.read_bytes() if path.exists() else b""
    if before and not before.endswith(b"\n"):
        before += b"\n"
    return before + b"".join(
        json.dumps(e.as_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"
        for e in entries
    )


def ledger_file_append(path: Path | str, entries: Sequence[LedgerEntry]) -> None:
    """Append entries to a JSON Lines ledger file, atomically (all lines or none)."""
    file = Path(path)
    _write_atomic(file, _ledger_lines(file, entries))


@contextlib.contextmanager
def _ledger_locked(path: Path | None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a ``.lock`` file beside it) from reading the
    ledger to appending to it, so two settlements never continue the same head."""
    if path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no lock, as before
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# ----------------------------------------------------------------------------- bundle files


@dataclass(frozen=True)
class BundleFile:
    """A bundle :func:`bundle_write` wrote: where, and what it holds."""

    path: Path
    written: BundleWritten

    @property
    def settlement(self) -> Settlement:
        """The settlement the bundle records."""
        return self.written.settlement

    @property
    def statement(self) -> Statement:
        """The signed statement."""
        return self.written.statement

    @property
    def entries(self) -> tuple[LedgerEntry, ...]:
        """The ledger entries the bundle made."""
        return self.written.entries

    @property
    def key_fingerprint(self) -> str:
        """SHA-256 of the public key that signed."""
        return self.written.key_fingerprint


def bundle_write(
    *,
    contract: Contract,
    contract_file: str,
    facts: Facts | None,
    tables: TableProvider | None,
    until: dt.date | None,
    overrides: Mapping[str, Any] | None,
    out_path: Path | str,
    key_path: Path | str | None = None,
    private_key: Ed25519PrivateKey | None = None,
    now: dt.datetime,
    actor: str | None = None,
    evaluator: str | None = None,
    include_data: bool = False,
    ledger_path: Path | str | None = None,
    supersedes: str | None = None,
) -> BundleFile:
    """Settle, sign and write the bundle to ``out_path``; with ``ledger_path`` the entries
    continue that JSON Lines ledger and are appended to it.

    The key is ``private_key`` or the PEM file ``key_path``. The bundle file and the
    ledger are each replaced atomically, the bundle only once the ledger holds its
    entries, and the ledger is locked meanwhile.
    """
    if (key_path is None) == (private_key is None):
        raise UserError("give the signing key: a private.pem file or the key itself")
    key = private_key if private_key is not None else private_key_load(key_path)  # type: ignore[arg-type]
    out = Path(out_path)
    if out.is_dir():
        raise UserError(f"{out}: is a directory; give the bundle's file name")
    ledger_file = Path(ledger_path) if ledger_path is not None else None
    with _ledger_locked(ledger_file):
        previous = ledger_file_read(ledger_file) if ledger_file is not None else []
        problems = verify_chain(previous) if previous else []
        if problems:
            raise UserError(
                f"{ledger_file}: the ledger does not hold; refusing to add to it: {problems[0]}"
            )
        written = bundle_create(
            contract=contract,
            contract_file=contract_file,
            facts=facts,
            tables=tables,
            until=until,
            overrides=overrides,
            private_key=key,
            now=now,
            actor=actor,
            evaluator=evaluator,
            include_data=include_data,
            ledger=previous,
            supersedes=supersedes,
        )
        temporary = _write_temporary(out, written.data)
        try:
            if ledger_file is not None:
                ledger_file_append(ledger_file, written.entries)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _replace(temporary, out)
    return BundleFile(out, written)


def bundle_read(path: Path | str) -> bytes:
    """The bytes of a bundle file; BundleUnreadable if there is none."""
    file = Path(path)
    if not file.exists():
        raise BundleUnreadable(f"{file}: no such bundle file")
    if file.is_dir():
        raise BundleUnreadable(f"{file}: is a directory, not a bundle file")
    try:
        return file.read_bytes()
    except OSError as error:
        raise BundleUnreadable(f"{file}: cannot be read: {error.strerror}") from None


def _ledger_copy(path: Path | str) -> LedgerCopy:
    try:
        return LedgerCopy(str(path), tuple(ledger_file_read(path)))
    except UserError as error:
        return LedgerCopy(str(path), problem=str(error))


def bundle_file_verify(
    path: Path | str,
    *,
    public_key: bytes | None = None,
    ledger_path: Path | str | None = None,
    data_dir: Path | str | None = None,
    recompute: bool = True,
    log_key: str | None = None,
) -> VerificationReport:
    """Check the bundle file at ``path`` (see :func:`utfall.services.bundles.bundle_verify`).

    ``ledger_path`` is a JSON Lines ledger the bundle's slice must be part of;
    ``data_dir`` a folder with the tables the bundle records only the digests of
    (``NAME.csv`` or ``NAME.parquet``, read under the bundle's contract declaration);
    ``log_key`` the transparency log's verifier key the bundle's tree head must be signed with.
    """
    raw = bundle_read(path)
    supplied = None
    if data_dir is not None:
        directory = Path(data_dir)
        if not directory.is_dir():
            raise UserError(f"{directory}: no such data directory")

        def supplied(declaration: DataDeclaration) -> TableProvider:
            return DirectoryTables(directory, declaration)

    return bundle_verify(
        raw,
        source=str(path),
        public_key=public_key,
        ledger=_ledger_copy(ledger_path) if ledger_path is not None else None,
        tables=supplied,
        recompute=recompute,
        log_key=log_key,
    )


def _plain(name: str, what: str, source: Path) -> str:
    base = PurePosixPath(name).name
    if base != name or base in ("", ".", "..") or base.startswith("."):
        raise BundleUnreadable(f"{source}: the {what} name {name!r} is not a plain file name")
    return base


def bundle_extract(path: Path | str, out_dir: Path | str) -> list[Path]:
    """Write a bundle's parts as plain files for people to read; the files written.

    The contract keeps its file name, the facts go to ``facts/``, every included
    table to ``data/NAME.csv`` (so ``utfall settle CONTRACT --data-dir data --as-of
    DAY`` runs it again), and the evaluations, settlement, statement, ledger and
    signature are written as JSON.
    """
    file = Path(path)
    data = bundle_parse(bundle_read(file), source=str(file))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def write(relative: PurePosixPath, content: bytes) -> None:
        target = out.joinpath(*relative.parts)
        _write_atomic(target, content)
        written.append(target)

    contract_name = _plain(data["contract"]["file"], "contract file", file)
    write(PurePosixPath(contract_name), data["contract"]["text"].encode("utf-8"))
    if data["facts"] is not None:
        facts_name = _plain(data["facts"]["file"], "facts file", file)
        write(PurePosixPath("facts", facts_name), data["facts"]["text"].encode("utf-8"))
    for name, content in sorted(bundle_tables(data).items()):
        write(PurePosixPath("data", f"{name}.csv"), content.encode("utf-8"))
    for part in ("evaluations", "settlement", "statement", "ledger", "signature"):
        text = json.dumps(data[part], ensure_ascii=False, indent=2) + "\n"
        write(PurePosixPath(f"{part}.json"), text.encode("utf-8"))
    return written
