"""Settlement bundles: one signed file from which anyone can re-check a settlement offline.

A bundle is a single JSON document (see ``docs/verification.md`` and decision
0251) holding the contract text, the facts, the evaluation specs and the
SHA-256 of every data file (the files themselves only on request), the full
settlement with its explanation, the slice of the ledger that records it, the
statement the evaluator signed and the Ed25519 signature.

:func:`bundle_create` settles and writes a bundle; :func:`bundle_verify`
re-reads it and checks, in turn, the file's canonical layout, the signature,
the hashes that bind every part to the signed statement, the ledger chain,
the data files, and finally recomputes the settlement from the contract text
and the recorded facts (re-running an evaluation where its data are
included). Every difference is reported with the place it was found.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from utfall.core.contracts import Contract, Settlement, parse_contract, settle
from utfall.core.contracts.yamlio import read_yaml
from utfall.core.ledger import (
    GENESIS,
    KIND_CONTRACT_VERSION,
    KIND_IMPORT,
    KIND_SETTLEMENT,
    LedgerEntry,
    Statement,
    StatementPayment,
    b64decode_strict,
    b64encode,
    canonical_sha256,
    entry_from_dict,
    key_fingerprint,
    new_entry,
    private_key_from_pem,
    private_key_pem,
    public_key_from_pem,
    public_key_pem,
    public_key_raw,
    sign_message,
    signing_message,
    statement_from_dict,
    verify_chain,
    verify_message,
)
from utfall.errors import BundleUnreadable, UserError, UtfallError
from utfall.services.bindings import spec_files
from utfall.services.contracts import contract_settle, facts_load
from utfall.services.files import read_text

__all__ = [
    "BUNDLE_FORMAT",
    "PARTS",
    "BundleWritten",
    "Check",
    "KeyPair",
    "VerificationReport",
    "bundle_create",
    "bundle_extract",
    "bundle_render",
    "bundle_verify",
    "keys_generate",
    "ledger_file_append",
    "ledger_file_read",
    "private_key_load",
    "public_key_load",
    "settlement_document",
]

BUNDLE_FORMAT = "utfall-settlement-bundle/1"
PARTS = ("contract", "facts", "overrides", "evaluations", "settlement")
"""Bundle parts the signed statement commits to by SHA-256 (the ledger is bound by its head)."""

_KEYS = {"format", *PARTS, "ledger", "statement", "signature"}
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_MAX_LISTED = 12  # differences listed per part before "… and N more"


# ----------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class KeyPair:
    """Where ``keys_generate`` wrote the key pair, and the public key's fingerprint."""

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
    private_pem = private_key_pem(key)
    raw = public_key_raw(key)
    # mkstemp creates the file readable by its owner only (0600) before anything is written.
    _write_atomic(private_path, private_pem, mode=0o600)
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


# ----------------------------------------------------------------------------- files


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` all at once: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, mode)  # mkstemp makes it 0600; a bundle or public key is for sharing
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_text(text: str) -> str:
    return _sha256_bytes(text.encode("utf-8"))


def _safe_relative(name: str, *, allow_parent: bool = False) -> PurePosixPath:
    """A relative path from a bundle, checked so that it cannot point anywhere else."""
    if not isinstance(name, str) or not name or "\\" in name or name.startswith("/"):
        raise ValueError(f"{name!r} is not a safe relative file name")
    path = PurePosixPath(name)
    for part in path.parts:
        if part == ".." and allow_parent:
            continue
        if not _SAFE_NAME.fullmatch(part):
            raise ValueError(f"{name!r} is not a safe relative file name")
    return path


# ----------------------------------------------------------------------------- ledger file


def ledger_file_read(path: Path | str) -> list[LedgerEntry]:
    """The entries of a JSON Lines ledger file (one entry per line); UserError names the line."""
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


def ledger_file_append(path: Path | str, entries: Sequence[LedgerEntry]) -> None:
    """Append entries to a JSON Lines ledger file, atomically (all lines or none)."""
    file = Path(path)
    before = file.read_bytes() if file.exists() else b""
    if before and not before.endswith(b"\n"):
        before += b"\n"
    lines = b"".join(
        json.dumps(e.as_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"
        for e in entries
    )
    _write_atomic(file, before + lines)


# ----------------------------------------------------------------------------- settlement JSON


def _explanation_roots(settlement: Settlement) -> list[str]:
    """Payments first, then outputs no payment explains (as ``utfall settle --explain``)."""
    roots = [p.id for p in settlement.payments]
    reached: set[str] = set()

    def walk(name: str) -> None:
        for child in settlement.explain(name).children:
            if child.name not in reached:
                reached.add(child.name)
                walk(child.name)

    for root in roots:
        walk(root)
    return roots + [n for n in settlement.outputs if n not in reached]


def _json_safe(value: Any) -> Any:
    """Explanation details can hold Decimals and tuples; JSON wants text and lists."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN has no JSON form
        return None
    return value


def settlement_document(settlement: Settlement, *, data_dir: Path | None = None) -> dict[str, Any]:
    """The settlement as the bundle records it: its JSON form with every explanation tree.

    Paths of data files inside ``data_dir`` are written relative to it, so the
    document is the same on every machine (and names no home directory).
    """
    document = settlement.to_json()
    document["explanation"] = {
        root: settlement.explain(root).as_dict() for root in _explanation_roots(settlement)
    }
    document = dict(_json_safe(document))
    if data_dir is not None:
        prefix = str(Path(data_dir).resolve()) + os.sep

        def portable(node: dict[str, Any]) -> None:
            details = node.get("details") or {}
            value = details.get("data")
            if isinstance(value, str) and value.startswith(prefix):
                details["data"] = PurePosixPath(*Path(value[len(prefix) :]).parts).as_posix()
            for child in node.get("children", []):
                portable(child)

        for tree in document["explanation"].values():
            portable(tree)
    return document


# ----------------------------------------------------------------------------- create


def _evaluation_files(spec_path: Path, data_dir: Path) -> list[tuple[str, str, Path]]:
    """Files an evaluation reads, as (role, name in the bundle, path on this machine).

    Its ``data`` and its auxiliary tables (a trend index, a price index, named in
    its options) come from ``data_dir``, as :mod:`utfall.services.bindings` reads them.
    """
    files = spec_files(read_text(spec_path, what="evaluation spec"), str(spec_path))
    found = [("data", files.data_name, data_dir / files.data_name)]
    for key, name in files.auxiliary_names.items():
        found.append((f"options.{key}", name, (data_dir / name).resolve()))
    return found


def _evaluations_part(
    contract: Contract, data_dir: Path, *, include_data: bool
) -> list[dict[str, Any]]:
    base = Path(contract.source).resolve().parent
    groups: dict[str, dict[str, Any]] = {}
    for name, binding in contract.inputs.items():
        if not binding.evaluate:
            continue
        group = groups.get(binding.evaluate)
        if group is not None:
            group["inputs"].append(name)
            continue
        spec_path = (base / binding.evaluate).resolve()
        _safe_relative(binding.evaluate, allow_parent=True)
        files = []
        for role, label, path in _evaluation_files(spec_path, data_dir):
            data = path.read_bytes()
            files.append(
                {
                    "role": role,
                    "file": label,
                    "sha256": _sha256_bytes(data),
                    "bytes": len(data),
                    "content_base64": b64encode(data) if include_data else None,
                }
            )
        groups[binding.evaluate] = {
            "evaluate": binding.evaluate,
            "inputs": [name],
            "spec_text": read_text(spec_path, what="evaluation spec"),
            "data": files,
        }
    return list(groups.values())


@dataclass(frozen=True)
class BundleWritten:
    """What :func:`bundle_create` did."""

    path: Path
    settlement: Settlement
    statement: Statement
    entries: tuple[LedgerEntry, ...]
    key_fingerprint: str


def _default_evaluator(contract: Contract) -> str | None:
    evaluators = [p.id for p in contract.parties if p.role == "evaluator"]
    return evaluators[0] if len(evaluators) == 1 else None


def bundle_create(
    *,
    contract_path: Path | str,
    out_path: Path | str,
    private_key: Ed25519PrivateKey,
    now: datetime,
    facts_path: Path | str | None = None,
    data_dir: Path | str | None = None,
    overrides: Mapping[str, str] | None = None,
    actor: str | None = None,
    evaluator: str | None = None,
    include_data: bool = False,
    ledger_path: Path | str | None = None,
    supersedes: str | None = None,
) -> BundleWritten:
    """Settle the contract, record it in the ledger, sign the statement, write the bundle.

    ``now`` is the time recorded in the ledger and the statement. ``actor``
    (who records the entries) and ``evaluator`` (who signs) default to the
    contract's evaluator party. Data files are represented by their SHA-256;
    ``include_data`` embeds them too (they can hold personal data: share such
    a bundle only with those allowed to see the data). With ``ledger_path``
    the entries continue that JSON Lines ledger and are appended to it.
    ``supersedes`` is the SHA-256 of the signed statement this one corrects.
    """
    overrides = dict(overrides or {})
    settlement = contract_settle(
        contract_path=contract_path, facts_path=facts_path, data_dir=data_dir, overrides=overrides
    )
    contract = settlement.contract
    signer = evaluator or _default_evaluator(contract)
    if signer is None:
        raise UserError(
            f"{contract_path}: the contract has no single party with role 'evaluator'; "
            "name the signer with --evaluator"
        )
    actor = actor or signer
    directory = Path(data_dir).resolve() if data_dir is not None else None

    contract_part = {"file": Path(contract_path).name, "text": contract.text}
    facts_part = None
    if facts_path is not None:
        facts_part = {
            "file": Path(facts_path).name,
            "text": read_text(facts_path, what="facts"),
        }
    evaluations = (
        _evaluations_part(contract, directory, include_data=include_data) if directory else []
    )
    settlement_part = settlement_document(settlement, data_dir=directory)
    parts: dict[str, Any] = {
        "contract": contract_part,
        "facts": facts_part,
        "overrides": overrides,
        "evaluations": evaluations,
        "settlement": settlement_part,
    }

    previous_entries = ledger_file_read(ledger_path) if ledger_path is not None else []
    if previous_entries:
        problems = verify_chain(previous_entries)
        if problems:
            raise UserError(
                f"{ledger_path}: the ledger does not hold; refusing to add to it: {problems[0]}"
            )
    previous = previous_entries[-1] if previous_entries else None
    entries: list[LedgerEntry] = []

    def record(kind: str, subject: str, sha: str, attributes: dict[str, Any]) -> None:
        nonlocal previous
        entry = new_entry(
            previous,
            kind=kind,
            subject=subject,
            data_sha256=sha,
            actor=actor,
            recorded_at=now,
            attributes=attributes,
        )
        entries.append(entry)
        previous = entry

    record(
        KIND_CONTRACT_VERSION,
        f"contract {contract.id} v{contract.version}",
        contract.sha256,
        {"file": contract_part["file"], "contract": contract.id, "version": contract.version},
    )
    if facts_part is not None:
        record(
            KIND_IMPORT,
            f"facts {facts_part['file']}",
            _sha256_text(facts_part["text"]),
            {"what": "facts", "file": facts_part["file"]},
        )
    for evaluation in evaluations:
        record(
            KIND_IMPORT,
            f"evaluation spec {evaluation['evaluate']}",
            _sha256_text(evaluation["spec_text"]),
            {"what": "evaluation spec", "file": evaluation["evaluate"]},
        )
        for item in evaluation["data"]:
            record(
                KIND_IMPORT,
                f"data {item['file']}",
                item["sha256"],
                {"what": item["role"], "file": item["file"], "bytes": item["bytes"]},
            )
    record(
        KIND_SETTLEMENT,
        f"settlement of {contract.id} v{contract.version}",
        canonical_sha256(settlement_part),
        {"contract": contract.id, "version": contract.version},
    )

    raw = public_key_raw(private_key)
    statement = Statement(
        contract_id=contract.id,
        contract_version=contract.version,
        contract_sha256=contract.sha256,
        payments=tuple(
            StatementPayment(p.id, p.payer, p.payee, p.label, p.amount) for p in settlement.payments
        ),
        parts={name: canonical_sha256(parts[name]) for name in PARTS},
        ledger_head=entries[-1].hash,
        evaluator=signer,
        signer_key_sha256=key_fingerprint(raw),
        signed_at=now,
        supersedes=supersedes,
    )
    signature = sign_message(private_key, statement.signing_message())
    bundle = {
        "format": BUNDLE_FORMAT,
        **parts,
        "ledger": [e.as_dict() for e in entries],
        "statement": statement.as_dict(),
        "signature": {
            "algorithm": "Ed25519",
            "public_key": b64encode(raw),
            "value": b64encode(signature),
        },
    }
    out = Path(out_path)
    if ledger_path is not None:
        ledger_file_append(ledger_path, entries)
    _write_atomic(out, bundle_render(bundle))
    return BundleWritten(out, settlement, statement, tuple(entries), key_fingerprint(raw))


def bundle_render(bundle: Mapping[str, Any]) -> bytes:
    """The one byte layout of a bundle file.

    A JSON object with one part per line, in key order; each part compact
    (no spaces) with sorted keys; UTF-8 without escapes; a final newline.
    Verification re-renders what it read and requires the very same bytes, so
    a bundle has exactly one spelling and no byte of it can change unnoticed.
    (``utfall verify --extract`` writes the parts out for reading.)
    """
    lines = [
        json.dumps(key, ensure_ascii=False)
        + ":"
        + json.dumps(bundle[key], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        for key in sorted(bundle)
    ]
    return ("{\n" + ",\n".join(lines) + "\n}\n").encode("utf-8")


# ----------------------------------------------------------------------------- read


def _fail_read(path: Path, message: str) -> BundleUnreadable:
    return BundleUnreadable(f"{path}: not a readable settlement bundle: {message}")


def _bundle_read(path: Path) -> tuple[bytes, dict[str, Any]]:
    """Bytes and JSON of a bundle; BundleUnreadable for anything that is not a bundle at all."""
    if not path.exists():
        raise BundleUnreadable(f"{path}: no such bundle file")
    if path.is_dir():
        raise BundleUnreadable(f"{path}: is a directory, not a bundle file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _fail_read(path, f"byte {error.start} is not UTF-8") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise _fail_read(
            path, f"not JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise _fail_read(path, "nested too deeply") from None
    if not isinstance(data, dict):
        raise _fail_read(path, "the file is JSON but not an object")
    missing = sorted(_KEYS - set(data))
    extra = sorted(set(data) - _KEYS)
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if extra:
            problems.append(f"unknown {', '.join(extra)}")
        raise _fail_read(path, "; ".join(problems))
    if data["format"] != BUNDLE_FORMAT:
        raise _fail_read(path, f"format is {data['format']!r}, expected {BUNDLE_FORMAT!r}")
    _check_shape(path, data)
    return raw, data


def _check_shape(path: Path, data: dict[str, Any]) -> None:
    """Types of every field verification reads (a wrong type is unreadable, not a difference)."""

    def need(condition: bool, where: str, what: str) -> None:
        if not condition:
            raise _fail_read(path, f"{where} must be {what}")

    def text_file(part: Any, where: str) -> None:
        need(isinstance(part, dict) and set(part) == {"file", "text"}, where, "{file, text}")
        need(isinstance(part["file"], str) and isinstance(part["text"], str), where, "text")

    text_file(data["contract"], "contract")
    if data["facts"] is not None:
        text_file(data["facts"], "facts")
    overrides = data["overrides"]
    need(
        isinstance(overrides, dict) and all(isinstance(v, str) for v in overrides.values()),
        "overrides",
        "an object of NAME: text",
    )
    need(isinstance(data["evaluations"], list), "evaluations", "a list")
    for index, evaluation in enumerate(data["evaluations"]):
        where = f"evaluations[{index}]"
        need(
            isinstance(evaluation, dict)
            and set(evaluation) == {"evaluate", "inputs", "spec_text", "data"},
            where,
            "{evaluate, inputs, spec_text, data}",
        )
        need(isinstance(evaluation["evaluate"], str), f"{where}.evaluate", "text")
        need(isinstance(evaluation["spec_text"], str), f"{where}.spec_text", "text")
        need(
            isinstance(evaluation["inputs"], list)
            and all(isinstance(n, str) for n in evaluation["inputs"]),
            f"{where}.inputs",
            "a list of names",
        )
        need(isinstance(evaluation["data"], list), f"{where}.data", "a list")
        for position, item in enumerate(evaluation["data"]):
            at = f"{where}.data[{position}]"
            need(
                isinstance(item, dict)
                and set(item) == {"role", "file", "sha256", "bytes", "content_base64"},
                at,
                "{role, file, sha256, bytes, content_base64}",
            )
            need(isinstance(item["role"], str), f"{at}.role", "text")
            need(isinstance(item["file"], str), f"{at}.file", "text")
            need(isinstance(item["sha256"], str), f"{at}.sha256", "text")
            need(
                isinstance(item["bytes"], int) and not isinstance(item["bytes"], bool),
                f"{at}.bytes",
                "a whole number",
            )
            need(
                item["content_base64"] is None or isinstance(item["content_base64"], str),
                f"{at}.content_base64",
                "base64 text or null",
            )
    settlement = data["settlement"]
    need(isinstance(settlement, dict), "settlement", "an object")
    for key, kind in (
        ("inputs", dict),
        ("outputs", dict),
        ("parameters", dict),
        ("payments", list),
        ("explanation", dict),
    ):
        need(isinstance(settlement.get(key), kind), f"settlement.{key}", kind.__name__)
    need(isinstance(data["ledger"], list) and bool(data["ledger"]), "ledger", "a non-empty list")
    need(isinstance(data["statement"], dict), "statement", "an object")
    signature = data["signature"]
    need(
        isinstance(signature, dict) and set(signature) == {"algorithm", "public_key", "value"},
        "signature",
        "{algorithm, public_key, value}",
    )
    need(
        all(isinstance(signature[k], str) for k in ("algorithm", "public_key", "value")),
        "signature",
        "text fields",
    )


# ----------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class Check:
    """One verification step and what it found."""

    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class VerificationReport:
    """Everything :func:`bundle_verify` found. ``ok`` when there is no difference."""

    path: Path
    checks: list[Check] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    key_source: str = "embedded"
    key_fingerprint: str | None = None
    contract: str | None = None
    payments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check holds."""
        return not self.differences

    def record(self, name: str, found: Sequence[str], passed: str) -> None:
        """Record a check: its differences (prefixed with the check name) or what it confirmed."""
        listed = list(found)
        if len(listed) > _MAX_LISTED:
            listed = [*listed[:_MAX_LISTED], f"… and {len(found) - _MAX_LISTED} more"]
        self.differences.extend(f"{name}: {item}" for item in listed)
        self.checks.append(Check(name, not found, "; ".join(listed) if found else passed))

    def as_dict(self) -> dict[str, Any]:
        """JSON form printed by ``utfall verify --json``."""
        return {
            "bundle": str(self.path),
            "ok": self.ok,
            "contract": self.contract,
            "key": {"source": self.key_source, "sha256": self.key_fingerprint},
            "payments": self.payments,
            "checks": [c.as_dict() for c in self.checks],
            "differences": self.differences,
            "notes": self.notes,
        }


def _first_difference(left: bytes, right: bytes) -> tuple[int, int, int]:
    """Byte offset, line and column of the first difference of two byte strings."""
    limit = min(len(left), len(right))
    offset = next((i for i in range(limit) if left[i] != right[i]), limit)
    line = left.count(b"\n", 0, offset) + 1
    column = offset - (left.rfind(b"\n", 0, offset) + 1) + 1
    return offset, line, column


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)


def _compare(recorded: Any, recomputed: Any, path: str) -> Iterator[str]:
    """Differences between two JSON values, each naming its place."""
    if isinstance(recorded, dict) and isinstance(recomputed, dict):
        for key in sorted(set(recorded) | set(recomputed), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in recomputed:
                yield f"{where}: in the bundle but not in the recomputation"
            elif key not in recorded:
                yield f"{where}: missing from the bundle (recomputed {_shown(recomputed[key])})"
            else:
                yield from _compare(recorded[key], recomputed[key], where)
        return
    if isinstance(recorded, list) and isinstance(recomputed, list):
        if len(recorded) != len(recomputed):
            yield f"{path}: {len(recorded)} item(s) in the bundle, {len(recomputed)} recomputed"
        for index, (a, b) in enumerate(zip(recorded, recomputed, strict=False)):
            label = a.get("id") or a.get("name") if isinstance(a, dict) else None
            yield from _compare(a, b, f"{path}[{label or index}]")
        return
    if recorded != recomputed or type(recorded) is not type(recomputed):
        yield f"{path}: the bundle says {_shown(recorded)}, recomputed {_shown(recomputed)}"


def _settlement_differences(recorded: dict[str, Any], recomputed: dict[str, Any]) -> list[str]:
    """Differences in the figures first (inputs, outputs, payments), then the explanation."""
    found: list[str] = []
    order = ["contract", "version", "contract_sha256", "parameters", "overridden", "inputs"]
    order += ["outputs", "payments", "explanation"]
    keys = order + sorted((set(recorded) | set(recomputed)) - set(order))
    for key in keys:
        if key not in recorded and key not in recomputed:
            continue
        found.extend(_compare({key: recorded.get(key)}, {key: recomputed.get(key)}, ""))
    return found


def _input_provenance(explanation: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Origin and details of every input node in the recorded explanation trees."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}

    def walk(node: Mapping[str, Any]) -> None:
        if not isinstance(node, Mapping):
            return
        if node.get("kind") == "input" and isinstance(node.get("name"), str):
            found[node["name"]] = (str(node.get("origin")), dict(node.get("details") or {}))
        for child in node.get("children") or []:
            walk(child)

    for tree in explanation.values():
        walk(tree)
    return found


def _ups(name: str) -> int:
    return sum(1 for part in _safe_relative(name, allow_parent=True).parts if part == "..")


def _spec_data_path(spec_text: str) -> str | None:
    """The ``data`` path a spec names, if it is a safe relative path."""
    try:
        raw = read_yaml(spec_text, source="spec", what="the evaluation spec").data
    except ValueError:
        return None
    value = raw.get("data") if isinstance(raw, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return _safe_relative(value, allow_parent=True).as_posix()
    except ValueError:
        return None


def _layout(root: Path, contract_file: str, evaluations: Sequence[Mapping[str, Any]]) -> Path:
    """Where to put the contract inside ``root`` so that the ``../`` of its spec paths, and
    of the specs' data and auxiliary tables, stay inside."""
    depth = 0
    for evaluation in evaluations:
        ups = [_ups(i["file"]) for i in evaluation["data"] if i["role"] != "data"]
        main = _spec_data_path(evaluation["spec_text"])
        if main is not None:
            ups.append(_ups(main))
        depth = max(depth, _ups(evaluation["evaluate"]) + max(ups, default=0))
    directory = root.joinpath(*(["c"] * depth)) if depth else root
    directory.mkdir(parents=True, exist_ok=True)
    return directory / _safe_relative(contract_file).name


def _recompute(
    data: dict[str, Any],
    report: VerificationReport,
    contract: Contract,
    workdir: Path,
    contents: Mapping[tuple[int, int], bytes],
) -> dict[str, Any] | None:
    """Settle again from the bundle's own texts; the settlement document, or None if it failed.

    ``contents`` holds the bytes of every data file at hand (included in the
    bundle or supplied with ``--data-dir``), by (evaluation, file) position.
    """
    evaluations = data["evaluations"]
    overrides = data["overrides"]
    work = workdir.resolve()
    source = work / "source"
    contract_path = _layout(source, data["contract"]["file"], evaluations)
    contract_path.write_text(data["contract"]["text"], encoding="utf-8")
    facts_path = None
    if data["facts"] is not None:
        facts_path = workdir / "facts" / _safe_relative(data["facts"]["file"]).name
        facts_path.parent.mkdir()
        facts_path.write_text(data["facts"]["text"], encoding="utf-8")

    facts: dict[str, Any] = dict(facts_load(facts_path)) if facts_path is not None else {}
    if not evaluations:
        source_name = data["facts"]["file"] if data["facts"] is not None else None
        settlement = settle(contract, facts, overrides=overrides, source=source_name)
        report.notes.append("settled again from the contract text and the recorded facts")
        return settlement_document(settlement)

    complete = all(
        (e_index, i_index) in contents
        for e_index, e in enumerate(evaluations)
        for i_index in range(len(e["data"]))
    )
    try:
        importlib.import_module("utfall.services.evaluation")
        engine = True
    except ImportError:
        engine = False
    if complete and engine:
        data_dir = work / "data"
        data_dir.mkdir()
        for e_index, evaluation in enumerate(evaluations):
            spec_path = (contract_path.parent / evaluation["evaluate"]).resolve()
            if source not in spec_path.parents:
                raise ValueError(f"evaluation spec {evaluation['evaluate']!r} leaves the bundle")
            spec_path.parent.mkdir(parents=True, exist_ok=True)
            spec_path.write_text(evaluation["spec_text"], encoding="utf-8")
            main = _spec_data_path(evaluation["spec_text"])
            for i_index, item in enumerate(evaluation["data"]):
                targets = []
                if item["role"] == "data":
                    # Where --data-dir serves it, and where the spec itself names it
                    # (the spec is checked before the data directory replaces its path).
                    targets.append(data_dir / _safe_relative(item["file"]))
                    if main is not None:
                        targets.append((spec_path.parent / main).resolve())
                else:
                    # Auxiliary tables: in the data directory, as bindings read them.
                    targets.append(data_dir / _safe_relative(item["file"]))
                content = contents[(e_index, i_index)]
                for target in targets:
                    if work not in target.parents:
                        raise ValueError(f"data file {item['file']!r} leaves the bundle")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(content)
        settlement = contract_settle(
            contract_path=contract_path,
            facts_path=facts_path,
            data_dir=data_dir,
            overrides=overrides,
        )
        report.notes.append("re-ran every evaluation on the data and settled again")
        return settlement_document(settlement, data_dir=data_dir)

    # Without the data (or the engine) the evaluated inputs are taken as recorded;
    # their data files were still checked against the hashes in the ledger.
    recorded_inputs = data["settlement"]["inputs"]
    provenance = _input_provenance(data["settlement"]["explanation"])
    origins: dict[str, str] = {}
    details: dict[str, dict[str, Any]] = {}
    bound = [name for e in evaluations for name in e["inputs"]]
    for name in bound:
        if name in recorded_inputs:
            facts[name] = recorded_inputs[name]
        if name in provenance:
            origins[name], details[name] = provenance[name]
    settlement = settle(contract, facts, overrides=overrides, origins=origins, details=details)
    reason = "the data are not at hand" if not complete else "the evaluation engine is missing"
    report.notes.append(
        f"evaluations not re-run ({reason}): {', '.join(bound)} taken as recorded; the ledger "
        "records the SHA-256 of their data files (give --data-dir with the files to re-run them)"
    )
    return settlement_document(settlement)


def bundle_verify(
    path: Path | str,
    *,
    public_key: bytes | None = None,
    ledger_path: Path | str | None = None,
    data_dir: Path | str | None = None,
    recompute: bool = True,
) -> VerificationReport:
    """Check a bundle offline and report every difference.

    ``public_key`` (raw Ed25519 bytes) is the key the signature must be made
    with; without it the key embedded in the bundle is used, which proves that
    nothing changed since signing (integrity) but not who signed (identity).
    ``ledger_path`` also checks that the bundle's ledger slice is part of that
    ledger. ``data_dir`` supplies data files the bundle holds only the hashes of
    (checked against them), so the evaluations can be re-run.
    ``recompute=False`` checks only layout, hashes, chain and signature.
    Raises :class:`BundleUnreadable` for a file that is not a bundle at all.
    """
    file = Path(path)
    raw, data = _bundle_read(file)
    report = VerificationReport(file)
    _verify_layout(raw, data, report)
    embedded = _verify_signature(data, report, public_key)
    statement = _verify_statement(data, report, embedded)
    _verify_ledger(data, report, statement, ledger_path)
    contents = _verify_data(data, report, Path(data_dir) if data_dir is not None else None)
    contract = _verify_contract(data, report, statement, compile_text=recompute)
    if recompute:
        _verify_recomputation(data, report, contract, contents)
    return report


def _verify_layout(raw: bytes, data: dict[str, Any], report: VerificationReport) -> None:
    """One spelling only: the file must be exactly the rendering of what it holds."""
    rendered = bundle_render(data)
    problems = []
    if rendered != raw:
        offset, line, column = _first_difference(raw, rendered)
        problems.append(
            f"the file differs from its canonical layout at byte {offset} (line {line}, "
            f"column {column}): it was edited after it was written"
        )
    report.record("layout", problems, "the file is in its canonical layout")


def _decode_fixed(text: str, size: int, what: str) -> bytes:
    data = b64decode_strict(text)
    if len(data) != size:
        raise ValueError(f"{len(data)} bytes, an Ed25519 {what} has {size}")
    return data


def _verify_signature(
    data: dict[str, Any], report: VerificationReport, public_key: bytes | None
) -> bytes | None:
    """The Ed25519 signature over the statement; returns the embedded key if it is readable."""
    signature = data["signature"]
    problems: list[str] = []
    embedded: bytes | None = None
    value: bytes | None = None
    message: bytes | None = None
    if signature["algorithm"] != "Ed25519":
        problems.append(f"unknown algorithm {signature['algorithm']!r} (expected 'Ed25519')")
    try:
        embedded = _decode_fixed(signature["public_key"], 32, "public key")
    except ValueError as error:
        problems.append(f"the embedded public key cannot be read: {error}")
    try:
        value = _decode_fixed(signature["value"], 64, "signature")
    except ValueError as error:
        problems.append(f"the signature cannot be read: {error}")
    key = embedded
    if public_key is not None:
        report.key_source = "given"
        key = public_key
        if embedded is not None and embedded != public_key:
            problems.append(
                f"the bundle was signed with key {key_fingerprint(embedded)}, but the given "
                f"public key is {key_fingerprint(public_key)}"
            )
    report.key_fingerprint = key_fingerprint(key) if key is not None else None
    try:
        message = signing_message(data["statement"])
    except ValueError as error:
        problems.append(f"the statement cannot be put in canonical form: {error}")
    if (
        not problems
        and key is not None
        and value is not None
        and message is not None
        and not verify_message(key, message, value)
    ):
        problems.append(
            "the Ed25519 signature does not match the statement with this key "
            "(the statement, the signature or the key was changed)"
        )
    who = "the given public key" if public_key is not None else "the key embedded in the bundle"
    report.record("signature", problems, f"valid Ed25519 signature by {who}")
    if public_key is None and embedded is not None:
        report.notes.append(
            f"checked with the public key embedded in the bundle ({key_fingerprint(embedded)}): "
            "this proves the bundle is unchanged since it was signed, not who signed it; "
            "give --public-key with the evaluator's published key to check identity"
        )
    return embedded


def _verify_statement(
    data: dict[str, Any], report: VerificationReport, embedded: bytes | None
) -> Statement | None:
    """The statement agrees with the settlement, and every part has the hash it signs."""
    try:
        statement = statement_from_dict(data["statement"])
    except ValueError as error:
        report.record("statement", [f"cannot be read: {error}"], "")
        return None
    report.contract = f"{statement.contract_id} v{statement.contract_version}"
    report.payments = [p.as_dict() for p in statement.payments]
    problems = []
    if embedded is not None and statement.signer_key_sha256 != key_fingerprint(embedded):
        problems.append(
            f"names signer key {statement.signer_key_sha256}, but the embedded key is "
            f"{key_fingerprint(embedded)}"
        )
    settled = data["settlement"]
    recorded_payments = [
        {k: p.get(k) for k in ("id", "from", "to", "label", "amount_sek")}
        for p in settled["payments"]
        if isinstance(p, dict)
    ]
    for difference in _compare(
        [p.as_dict() for p in statement.payments], recorded_payments, "payments"
    ):
        problems.append(
            difference.replace("the bundle says", "the statement says").replace(
                "recomputed", "the settlement says"
            )
        )
    for name, mine, theirs in (
        ("contract", statement.contract_id, settled.get("contract")),
        ("version", statement.contract_version, settled.get("version")),
        ("contract_sha256", statement.contract_sha256, settled.get("contract_sha256")),
    ):
        if mine != theirs:
            problems.append(f"{name} is {mine!r}, the settlement says {theirs!r}")
    report.record(
        "statement",
        problems,
        f"{report.contract}, {len(statement.payments)} payment(s), "
        f"signed by {statement.evaluator} at {data['statement'].get('signed_at')}",
    )
    part_problems = []
    for name in PARTS:
        try:
            actual = canonical_sha256(data[name])
        except ValueError as error:
            part_problems.append(f"{name} cannot be hashed: {error}")
            continue
        signed = statement.parts.get(name)
        if signed is None:
            part_problems.append(f"{name}: the statement has no hash for it")
        elif signed != actual:
            part_problems.append(
                f"{name} was changed after signing: its SHA-256 is {actual}, "
                f"the signed statement records {signed}"
            )
    extra = sorted(set(statement.parts) - set(PARTS))
    if extra:
        part_problems.append(f"the statement names unknown part(s): {', '.join(extra)}")
    report.record("parts", part_problems, f"{len(PARTS)} parts match the signed hashes")
    return statement


def _verify_ledger(
    data: dict[str, Any],
    report: VerificationReport,
    statement: Statement | None,
    ledger_path: Path | str | None,
) -> None:
    """The slice chains up to the signed head and records what the bundle holds."""
    entries: list[LedgerEntry] = []
    problems: list[str] = []
    for index, item in enumerate(data["ledger"]):
        try:
            entries.append(entry_from_dict(item))
        except ValueError as error:
            problems.append(f"entry [{index}] cannot be read: {error}")
    if not problems:
        problems.extend(str(p) for p in verify_chain(entries, previous_hash=None))
        if statement is not None and statement.ledger_head != entries[-1].hash:
            problems.append(
                f"the signed statement names ledger head {statement.ledger_head}, but the last "
                f"entry's hash is {entries[-1].hash}"
            )
        problems.extend(_ledger_content_problems(data, entries))
    if entries and not problems:
        if entries[0].previous_hash == GENESIS:
            report.notes.append("the ledger slice starts at the beginning of its ledger")
        else:
            report.notes.append(
                f"the ledger slice continues a ledger after entry {entries[0].sequence - 1} "
                f"(hash {entries[0].previous_hash}); give --ledger to check that part too"
            )
    report.record("ledger", problems, f"{len(entries)} entries chain up to the signed head")
    if ledger_path is not None:
        report.record(
            "ledger file",
            _ledger_file_problems(Path(ledger_path), entries),
            f"the slice is part of {ledger_path}, whose whole chain holds",
        )


def _verify_data(
    data: dict[str, Any], report: VerificationReport, supplied: Path | None
) -> dict[tuple[int, int], bytes]:
    """Data files at hand have the SHA-256 and size the bundle records; their bytes.

    A file is at hand when the bundle includes it or ``supplied`` holds it (the
    main data file by name, an auxiliary table by its name too).
    """
    problems: list[str] = []
    contents: dict[tuple[int, int], bytes] = {}
    included = given = 0
    for e_index, evaluation in enumerate(data["evaluations"]):
        for i_index, item in enumerate(evaluation["data"]):
            name = item["file"]
            if item["content_base64"] is not None:
                try:
                    content = b64decode_strict(item["content_base64"])
                except ValueError as error:
                    problems.append(f"data file {name!r}: its content cannot be read: {error}")
                    continue
                where = "the bundle records"
                included += 1
            elif supplied is not None:
                candidate = supplied / PurePosixPath(name).name
                if not candidate.is_file():
                    continue
                content = candidate.read_bytes()
                where = f"the bundle records, but {candidate} has"
                given += 1
            else:
                continue
            actual = _sha256_bytes(content)
            if actual != item["sha256"]:
                problems.append(
                    f"data file {name!r} was changed: its SHA-256 is {actual}, {where} "
                    f"{item['sha256']}"
                    if item["content_base64"] is not None
                    else f"data file {name!r}: {where} SHA-256 {actual}, not {item['sha256']}"
                )
                continue
            if len(content) != item["bytes"]:
                problems.append(
                    f"data file {name!r} has {len(content)} bytes, the bundle records "
                    f"{item['bytes']}"
                )
                continue
            contents[(e_index, i_index)] = content
    total = sum(len(e["data"]) for e in data["evaluations"])
    passed = "no data files (settled on facts)"
    if total:
        passed = f"{included} of {total} data file(s) included and unchanged"
        if supplied is not None:
            passed += f"; {given} supplied from {supplied} with the recorded SHA-256"
    report.record("data", problems, passed)
    return contents


def _verify_contract(
    data: dict[str, Any],
    report: VerificationReport,
    statement: Statement | None,
    *,
    compile_text: bool,
) -> Contract | None:
    """The contract text is the signed one (and compiles, when it is to be settled again)."""
    contract: Contract | None = None
    problems: list[str] = []
    sha = _sha256_text(data["contract"]["text"])
    if statement is not None and sha != statement.contract_sha256:
        problems.append(
            f"the contract text was changed: its SHA-256 is {sha}, the signed "
            f"statement records {statement.contract_sha256}"
        )
    if compile_text:
        try:
            contract = parse_contract(data["contract"]["text"], source=data["contract"]["file"])
        except UtfallError as error:
            problems.append(f"the contract text no longer compiles: {error}")
    if (
        contract is not None
        and statement is not None
        and (contract.id, contract.version) != (statement.contract_id, statement.contract_version)
    ):
        problems.append(
            f"the text is contract {contract.id} v{contract.version}, the statement "
            f"says {statement.contract_id} v{statement.contract_version}"
        )
    passed = "its SHA-256 is the signed one"
    if contract is not None:
        passed = f"{contract.id} v{contract.version} compiles; {passed}"
    report.record("contract", problems, passed)
    return contract


def _verify_recomputation(
    data: dict[str, Any],
    report: VerificationReport,
    contract: Contract | None,
    contents: Mapping[tuple[int, int], bytes],
) -> None:
    """Settle again from the bundle's own texts and compare every figure."""
    problems: list[str] = []
    if contract is None:
        report.record("recomputation", ["skipped: the contract text does not compile"], "")
        return
    recomputed = None
    with tempfile.TemporaryDirectory(prefix="utfall-verify-") as work:
        try:
            recomputed = _recompute(data, report, contract, Path(work), contents)
        except UtfallError as error:
            problems.append(f"the settlement cannot be recomputed: {error}")
            problems.extend(f"  {line}" for line in error.detail)
        except (ValueError, OSError) as error:
            problems.append(f"the settlement cannot be recomputed: {error}")
    if recomputed is not None:
        problems.extend(_settlement_differences(data["settlement"], recomputed))
    report.record(
        "recomputation",
        problems,
        "every input, output, payment and explanation recomputes to the recorded value",
    )


def _ledger_content_problems(data: dict[str, Any], entries: Sequence[LedgerEntry]) -> list[str]:
    """The slice must record this contract text, these facts, specs and data, this settlement."""
    problems: list[str] = []

    def find(kind: str, sha: str) -> bool:
        return any(e.kind == kind and e.data_sha256 == sha for e in entries)

    contract_sha = _sha256_text(data["contract"]["text"])
    if not find(KIND_CONTRACT_VERSION, contract_sha):
        problems.append(
            f"no contract_version entry records the contract text (SHA-256 {contract_sha})"
        )
    if data["facts"] is not None:
        facts_sha = _sha256_text(data["facts"]["text"])
        if not find(KIND_IMPORT, facts_sha):
            problems.append(
                f"no import entry records the facts {data['facts']['file']!r} (SHA-256 {facts_sha})"
            )
    for evaluation in data["evaluations"]:
        spec_sha = _sha256_text(evaluation["spec_text"])
        if not find(KIND_IMPORT, spec_sha):
            problems.append(
                f"no import entry records the evaluation spec {evaluation['evaluate']!r} "
                f"(SHA-256 {spec_sha})"
            )
        for item in evaluation["data"]:
            if not find(KIND_IMPORT, item["sha256"]):
                problems.append(
                    f"no import entry records data file {item['file']!r} with SHA-256 "
                    f"{item['sha256']}"
                )
    try:
        settlement_sha = canonical_sha256(data["settlement"])
    except ValueError:
        settlement_sha = ""
    if not find(KIND_SETTLEMENT, settlement_sha):
        problems.append(f"no settlement entry records this settlement (SHA-256 {settlement_sha})")
    return problems


def _ledger_file_problems(path: Path, entries: Sequence[LedgerEntry]) -> list[str]:
    try:
        ledger = ledger_file_read(path)
    except UserError as error:
        return [str(error)]
    if not ledger:
        return [f"{path} has no entries"]
    problems = [str(p) for p in verify_chain(ledger)]
    by_sequence = {e.sequence: e for e in ledger}
    for entry in entries:
        stored = by_sequence.get(entry.sequence)
        if stored is None:
            problems.append(f"entry {entry.sequence} of the bundle is not in {path}")
        elif stored.hash != entry.hash:
            problems.append(
                f"entry {entry.sequence} differs: the bundle has {entry.hash}, {path} has "
                f"{stored.hash}"
            )
    return problems


# ----------------------------------------------------------------------------- extract


def bundle_extract(path: Path | str, out_dir: Path | str) -> list[Path]:
    """Write a bundle's parts as plain files for people to read; the files written.

    The contract, facts, specs and included data keep their names; the
    settlement, statement, ledger and signature are written as JSON.
    """
    file = Path(path)
    _, data = _bundle_read(file)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def write(relative: PurePosixPath, content: bytes) -> None:
        target = out.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        written.append(target)

    try:
        write(_safe_relative(data["contract"]["file"]), data["contract"]["text"].encode())
        if data["facts"] is not None:
            name = _safe_relative(data["facts"]["file"]).name
            write(PurePosixPath("facts", name), data["facts"]["text"].encode())
        for evaluation in data["evaluations"]:
            spec = _safe_relative(evaluation["evaluate"], allow_parent=True)
            write(PurePosixPath("evaluations", spec.name), evaluation["spec_text"].encode())
            for item in evaluation["data"]:
                if item["content_base64"] is not None:
                    write(
                        PurePosixPath("data", _safe_relative(item["file"])),
                        b64decode_strict(item["content_base64"]),
                    )
    except ValueError as error:
        raise _fail_read(file, str(error)) from None
    for name in ("settlement", "statement", "ledger", "signature"):
        text = json.dumps(data[name], ensure_ascii=False, indent=2) + "\n"
        write(PurePosixPath(f"{name}.json"), text.encode("utf-8"))
    return written
