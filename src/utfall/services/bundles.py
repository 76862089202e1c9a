"""Settlement bundles: one signed document from which anyone can re-check a settlement offline.

A bundle (format ``utfall-settlement-bundle/2``, ``docs/verification.md``,
decisions 0251 and 0257) holds the contract text (with its data declaration and
its evaluations), the facts text, the what-if parameters, the evaluations that
gave the bound inputs — each with the day its data were taken and every table it
read, by :func:`~utfall.services.tables.table_digest` and row count — the full
settlement with its explanation, the slice of the ledger that records it, the
statement the evaluator signed and the Ed25519 signature. On request the tables
themselves travel along as canonical CSV.

Everything here takes and returns objects — a compiled contract, facts, a table
provider, ledger entries, the bundle's bytes — never a path:
:mod:`utfall.adapters.bundles` reads and writes the files for the CLI, the
platform stores the bytes and its ledger in its database.

:func:`bundle_create` settles through the one pipeline
(:func:`~utfall.services.contracts.contract_settle`), records the ledger entries
and signs. :func:`bundle_verify` checks, in turn, the canonical layout, the
signature, the hashes that bind every part to the signed statement, the ledger
chain, the contract, the evaluations part against the contract, the tables at
hand against their digests, and finally recomputes the settlement from the
bundle's own texts (re-running every evaluation when all its tables are at
hand). Every difference is reported with the part it was found in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from utfall.core.contracts import Contract, Settlement, parse_contract, settle
from utfall.core.contracts.data import DataDeclaration
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
    public_key_raw,
    sign_message,
    signing_message,
    statement_from_dict,
    verify_chain,
    verify_message,
)
from utfall.core.ledger.merkle import MAX_PROOF_LENGTH, entry_leaf, leaf_hash, verify_inclusion
from utfall.core.ledger.note import checkpoint_parse, note_parse, note_verify, verifier_key_parse
from utfall.errors import BundleUnreadable, UserError, UtfallError
from utfall.services.bindings import evaluation_tables
from utfall.services.contracts import Facts, contract_settle, facts_parse
from utfall.services.tables import (
    ArrowTables,
    TableMissing,
    TableProvider,
    as_of,
    canonical_csv,
    canonical_schema,
    conform,
    table_digest,
)

__all__ = [
    "BUNDLE_FORMAT",
    "OPTIONAL_PARTS",
    "PARTS",
    "BundleWritten",
    "Check",
    "LedgerCopy",
    "VerificationReport",
    "bundle_create",
    "bundle_parse",
    "bundle_render",
    "bundle_tables",
    "bundle_verify",
    "bundle_with_log_proof",
    "settlement_document",
]

BUNDLE_FORMAT = "utfall-settlement-bundle/2"
OLDER_FORMATS = {
    "utfall-settlement-bundle/1": "evaluation spec files and data files by their bytes",
}
PARTS = ("contract", "facts", "overrides", "evaluations", "settlement")
"""Bundle parts the signed statement commits to by SHA-256. The ledger is bound by its
head; the ``tables`` (canonical CSV, only on request) by the digests the signed
``evaluations`` part records, so they can be left out of a bundle without breaking it."""

OPTIONAL_PARTS = ("parties",)
"""Signed parts a bundle may have: ``parties``, the contract's parties and every change
of them (invitations, acceptances, approvals; decision 0601). A bundle without it (any
bundle signed before it existed) verifies as before; one with it commits to it."""

_KEYS = {"format", *PARTS, "tables", "ledger", "statement", "signature"}
_OPTIONAL_KEYS = {"transparency", *OPTIONAL_PARTS}
"""Added after signing, and not covered by the evaluator's signature: the transparency
log's proof that the bundle's settlement entry is in a signed tree head (it is verified
against the log's own signature). Bundles without it are read as before."""
_TRANSPARENCY_KEYS = {"checkpoint", "log_key", "leaf_index", "proof"}
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_TABLE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_MAX_LISTED = 12  # differences listed per part before "… and N more"

TablesSupplied = TableProvider | Callable[[DataDeclaration], TableProvider]
"""Tables a verifier holds: a provider, or a function that makes one for the bundle's
contract declaration (e.g. a folder of CSV files read under that declaration)."""


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_name(name: str, what: str) -> str:
    """The last part of ``name``, checked to be a plain file name (no path, nothing hidden)."""
    base = PurePosixPath(str(name).replace("\\", "/")).name
    if not _SAFE_NAME.fullmatch(base):
        raise UserError(f"{name!r} is not a usable file name for the {what}")
    return base


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


def settlement_document(settlement: Settlement) -> dict[str, Any]:
    """The settlement as a bundle records it: its JSON form with every explanation tree.

    The tables behind an evaluated input appear by their digests only, so the
    document is the same whichever provider held the rows.
    """
    document = settlement.to_json()
    document["explanation"] = {
        root: settlement.explain(root).as_dict() for root in _explanation_roots(settlement)
    }
    return dict(_json_safe(document))


# ----------------------------------------------------------------------------- create


@dataclass(frozen=True)
class BundleWritten:
    """What :func:`bundle_create` made: the bundle's bytes and what they hold."""

    data: bytes
    settlement: Settlement
    statement: Statement
    entries: tuple[LedgerEntry, ...]
    key_fingerprint: str


def _default_evaluator(contract: Contract) -> str | None:
    evaluators = [p.id for p in contract.parties if p.role == "evaluator"]
    return evaluators[0] if len(evaluators) == 1 else None


def _facts_json(values: Mapping[str, Any]) -> str:
    """Facts given without their text, written as JSON (numbers as exact text)."""

    def plain(value: Any) -> Any:
        if isinstance(value, (Decimal, dt.date)):
            return str(value)
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return json.dumps(plain(values), ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def _facts_recorded(facts: Facts | None) -> tuple[dict[str, str] | None, Facts | None]:
    """The facts part and the facts parsed from it: a bundle settles on what it records."""
    if facts is None or (facts.text is None and not facts.values):
        return None, None
    if facts.text is None:
        name, text = "facts.json", _facts_json(facts.values)
    else:
        base = PurePosixPath(str(facts.source or "").replace("\\", "/")).name
        name = base if _SAFE_NAME.fullmatch(base) else "facts.yaml"
        text = facts.text
    parsed = facts_parse(
        text, source=facts.source or name, json_text=name.lower().endswith(".json")
    )
    if facts.values and set(parsed.values) != set(facts.values):
        raise UserError(
            f"{facts.source or name}: the facts' text gives "
            f"{', '.join(sorted(parsed.values)) or 'nothing'}, their values "
            f"{', '.join(sorted(facts.values))}: a bundle records the text it settles on"
        )
    return {"file": name, "text": text}, parsed


def _evaluations_part(
    contract: Contract,
    run_digests: Mapping[str, str],
    tables: TableProvider,
    until: dt.date | None,
    *,
    include_data: bool,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Each bound evaluation with the tables it read (digest and rows) and, with
    ``include_data``, those tables as canonical CSV."""
    bound = contract.bound_evaluations()
    read_by = {name: evaluation_tables(contract, contract.evaluations[name]) for name in bound}
    needed = list(dict.fromkeys(t for names in read_by.values() for t in names))
    read: TableProvider = (
        as_of(tables, contract.data, until, needed) if until is not None else tables
    )
    rows = {name: read.table(name).num_rows for name in needed}
    contents: dict[str, str] = {}
    if include_data:
        for name in needed:
            content = canonical_csv(read.table(name))
            if hashlib.sha256(content).hexdigest() != run_digests[name]:
                raise UtfallError(
                    f"{tables.describe(name)}: the provider's digest of {name} is not the "
                    "SHA-256 of its canonical CSV; the bundle could not be checked"
                )
            contents[name] = content.decode("utf-8")
    part = [
        {
            "evaluation": name,
            "method": contract.evaluations[name].method,
            "inputs": list(inputs),
            "as_of": until.isoformat() if until is not None else None,
            "tables": [
                {"table": t, "sha256": run_digests[t], "rows": rows[t]} for t in read_by[name]
            ],
        }
        for name, inputs in bound.items()
    ]
    return part, contents


def bundle_create(
    *,
    contract: Contract,
    contract_file: str,
    facts: Facts | None,
    tables: TableProvider | None,
    until: dt.date | None,
    overrides: Mapping[str, Any] | None,
    private_key: Ed25519PrivateKey,
    now: dt.datetime,
    actor: str | None = None,
    evaluator: str | None = None,
    include_data: bool = False,
    ledger: Sequence[LedgerEntry] = (),
    supersedes: str | None = None,
    parties: Mapping[str, Any] | None = None,
) -> BundleWritten:
    """Settle the contract, record it in the ledger, sign the statement; the bundle's bytes.

    The settlement is :func:`~utfall.services.contracts.contract_settle` on the
    facts (as their text reads: the bundle settles on what it records), on
    ``tables`` as of ``until`` and on the what-if ``overrides``. ``contract_file``
    names the contract in the bundle (a file name, no folders). ``now`` is the
    time recorded in the ledger and the statement; ``actor`` (who records the
    entries) and ``evaluator`` (who signs) default to the contract's evaluator
    party. Tables are recorded by digest and row count; ``include_data`` adds
    them as canonical CSV (pseudonymised personal data: share such a bundle only
    with those allowed to see it). The entries continue ``ledger`` (the entries
    before — the whole ledger or its latest entries — whose chain must hold); the
    caller stores them. ``supersedes`` is the
    SHA-256 of the signed statement this one corrects.
    """
    file_name = _file_name(contract_file, "contract")
    signer = evaluator or _default_evaluator(contract)
    if signer is None:
        raise UserError(
            f"{contract_file}: the contract has no single party with role 'evaluator'; "
            "name the signer with --evaluator"
        )
    actor = actor or signer
    if ledger:
        # A whole ledger links to GENESIS; a caller may pass only its latest entries.
        start = GENESIS if ledger[0].sequence == 0 else None
        problems = verify_chain(ledger, previous_hash=start)
        if problems:
            raise UserError(f"the ledger does not hold; refusing to add to it: {problems[0]}")
    recorded_overrides = {str(k): str(v) for k, v in (overrides or {}).items()}
    facts_part, recorded_facts = _facts_recorded(facts)
    run = contract_settle(
        contract, facts=recorded_facts, tables=tables, overrides=recorded_overrides, until=until
    )
    settlement = run.settlement
    evaluations: list[dict[str, Any]] = []
    contents: dict[str, str] = {}
    if tables is not None:
        evaluations, contents = _evaluations_part(
            contract, run.digests, tables, until, include_data=include_data
        )
    settlement_part = settlement_document(settlement)
    parts: dict[str, Any] = {
        "contract": {"file": file_name, "text": contract.text},
        "facts": facts_part,
        "overrides": recorded_overrides,
        "evaluations": evaluations,
        "settlement": settlement_part,
    }
    if parties is not None:
        parts["parties"] = dict(parties)

    previous = ledger[-1] if ledger else None
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
            contract=contract.id,
        )
        entries.append(entry)
        previous = entry

    record(
        KIND_CONTRACT_VERSION,
        f"contract {contract.id} v{contract.version}",
        contract.sha256,
        {"file": file_name, "contract": contract.id, "version": contract.version},
    )
    if facts_part is not None:
        record(
            KIND_IMPORT,
            f"facts {facts_part['file']}",
            _sha256_text(facts_part["text"]),
            {"what": "facts", "file": facts_part["file"]},
        )
    recorded: set[str] = set()
    for evaluation in evaluations:
        for item in evaluation["tables"]:
            if item["table"] in recorded:
                continue
            recorded.add(item["table"])
            attributes: dict[str, Any] = {"what": "table", "table": item["table"]}
            attributes["rows"] = item["rows"]
            if evaluation["as_of"] is not None:
                attributes["as_of"] = evaluation["as_of"]
            record(KIND_IMPORT, f"table {item['table']}", item["sha256"], attributes)
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
        parts={
            name: canonical_sha256(parts[name])
            for name in (*PARTS, *OPTIONAL_PARTS)
            if name in parts
        },
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
        "tables": contents,
        "ledger": [e.as_dict() for e in entries],
        "statement": statement.as_dict(),
        "signature": {
            "algorithm": "Ed25519",
            "public_key": b64encode(raw),
            "value": b64encode(signature),
        },
    }
    return BundleWritten(
        bundle_render(bundle), settlement, statement, tuple(entries), key_fingerprint(raw)
    )


def bundle_render(bundle: Mapping[str, Any]) -> bytes:
    """The one byte layout of a bundle.

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


def _fail_read(source: str, message: str) -> BundleUnreadable:
    return BundleUnreadable(f"{source}: not a readable settlement bundle: {message}")


def bundle_parse(raw: bytes, *, source: str = "the bundle") -> dict[str, Any]:
    """The JSON of a bundle, its shape checked; BundleUnreadable for anything that is not a
    bundle of this format at all (``source`` names it in the message)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _fail_read(source, f"byte {error.start} is not UTF-8") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise _fail_read(
            source, f"not JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise _fail_read(source, "nested too deeply") from None
    if not isinstance(data, dict):
        raise _fail_read(source, "the file is JSON but not an object")
    written = data.get("format")
    if isinstance(written, str) and written in OLDER_FORMATS:
        raise _fail_read(
            source,
            f"format {written} is an older bundle format ({OLDER_FORMATS[written]}); this "
            f"utfall reads {BUNDLE_FORMAT}: check it with the utfall release that wrote it",
        )
    missing = sorted(_KEYS - set(data))
    extra = sorted(set(data) - _KEYS - _OPTIONAL_KEYS)
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if extra:
            problems.append(f"unknown {', '.join(extra)}")
        raise _fail_read(source, "; ".join(problems))
    if written != BUNDLE_FORMAT:
        raise _fail_read(source, f"format is {written!r}, expected {BUNDLE_FORMAT!r}")
    _check_shape(source, data)
    return data


def bundle_tables(data: Mapping[str, Any]) -> dict[str, str]:
    """The tables a parsed bundle includes: name → canonical CSV text."""
    return dict(data["tables"])


def _check_shape(source: str, data: dict[str, Any]) -> None:
    """Types of every field verification reads (a wrong type is unreadable, not a difference)."""

    def need(condition: bool, where: str, what: str) -> None:
        if not condition:
            raise _fail_read(source, f"{where} must be {what}")

    def text_file(part: Any, where: str) -> None:
        need(isinstance(part, dict) and set(part) == {"file", "text"}, where, "{file, text}")
        need(isinstance(part["file"], str) and isinstance(part["text"], str), where, "text")

    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

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
    item_keys = {"evaluation", "method", "inputs", "as_of", "tables"}
    for index, evaluation in enumerate(data["evaluations"]):
        where = f"evaluations[{index}]"
        need(
            isinstance(evaluation, dict) and set(evaluation) == item_keys,
            where,
            "{" + ", ".join(sorted(item_keys)) + "}",
        )
        need(isinstance(evaluation["evaluation"], str), f"{where}.evaluation", "text")
        need(isinstance(evaluation["method"], str), f"{where}.method", "text")
        need(
            evaluation["as_of"] is None or isinstance(evaluation["as_of"], str),
            f"{where}.as_of",
            "a day (YYYY-MM-DD) or null",
        )
        need(
            isinstance(evaluation["inputs"], list)
            and all(isinstance(n, str) for n in evaluation["inputs"]),
            f"{where}.inputs",
            "a list of names",
        )
        need(isinstance(evaluation["tables"], list), f"{where}.tables", "a list")
        for position, item in enumerate(evaluation["tables"]):
            at = f"{where}.tables[{position}]"
            need(
                isinstance(item, dict) and set(item) == {"table", "sha256", "rows"},
                at,
                "{rows, sha256, table}",
            )
            need(
                isinstance(item["table"], str) and bool(_TABLE_NAME.fullmatch(item["table"])),
                f"{at}.table",
                "a table name",
            )
            need(isinstance(item["sha256"], str), f"{at}.sha256", "text")
            need(whole(item["rows"]), f"{at}.rows", "a whole number")
    tables = data["tables"]
    need(isinstance(tables, dict), "tables", "an object of NAME: canonical CSV")
    for name, content in tables.items():
        need(bool(_TABLE_NAME.fullmatch(name)), f"tables.{name}", "named as a declared table")
        need(isinstance(content, str), f"tables.{name}", "canonical CSV text")
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
    if "transparency" in data:
        log = data["transparency"]
        need(
            isinstance(log, dict) and set(log) == _TRANSPARENCY_KEYS,
            "transparency",
            "{" + ", ".join(sorted(_TRANSPARENCY_KEYS)) + "}",
        )
        need(isinstance(log["checkpoint"], str), "transparency.checkpoint", "a signed note")
        need(isinstance(log["log_key"], str), "transparency.log_key", "a verifier key")
        need(whole(log["leaf_index"]), "transparency.leaf_index", "a whole number")
        need(
            isinstance(log["proof"], list)
            and len(log["proof"]) <= MAX_PROOF_LENGTH
            and all(isinstance(h, str) for h in log["proof"]),
            "transparency.proof",
            f"a list of at most {MAX_PROOF_LENGTH} base64 hashes",
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


@dataclass(frozen=True)
class LedgerCopy:
    """A whole ledger to check a bundle's slice against: its entries (``name`` says whose),
    or ``problem``: why they could not be read."""

    name: str
    entries: tuple[LedgerEntry, ...] = ()
    problem: str | None = None


@dataclass
class VerificationReport:
    """Everything :func:`bundle_verify` found. ``ok`` when there is no difference."""

    source: str
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
            "bundle": self.source,
            "ok": self.ok,
            "contract": self.contract,
            "key": {"source": self.key_source, "sha256": self.key_fingerprint},
            "payments": self.payments,
            "checks": [c.as_dict() for c in self.checks],
            "differences": self.differences,
            "notes": self.notes,
        }


def bundle_verify(
    raw: bytes,
    *,
    source: str = "the bundle",
    public_key: bytes | None = None,
    ledger: LedgerCopy | None = None,
    tables: TablesSupplied | None = None,
    recompute: bool = True,
    log_key: str | None = None,
) -> VerificationReport:
    """Check a bundle offline and report every difference.

    ``public_key`` (raw Ed25519 bytes) is the key the signature must be made
    with; without it the key embedded in the bundle is used, which proves that
    nothing changed since signing (integrity) but not who signed (identity).
    ``ledger`` also checks that the bundle's ledger slice is part of that whole
    ledger. ``tables`` supplies tables the bundle records only the digests of (a
    provider, or a function making one for the bundle's data declaration): they
    are taken as of the recorded day and checked against the digests, so the
    evaluations can be re-run. ``recompute=False`` checks only layout, hashes,
    chain and signature. ``log_key`` is the transparency log's published verifier key
    (``NAME+HASH+KEY``) the tree head in the bundle must be signed with; without it the
    key in the bundle is used. Raises :class:`BundleUnreadable` for bytes that are not a
    bundle at all (``source`` names them).
    """
    data = bundle_parse(raw, source=source)
    report = VerificationReport(source)
    _verify_layout(raw, data, report)
    embedded = _verify_signature(data, report, public_key)
    statement = _verify_statement(data, report, embedded)
    _verify_ledger(data, report, statement, ledger)
    _verify_transparency(data, report, log_key)
    contract = _verify_contract(
        data, report, statement, compile_text=recompute or tables is not None
    )
    if contract is not None:
        _verify_evaluations(data, report, contract)
    at_hand = _verify_tables(data, report, contract, tables)
    if recompute:
        _verify_recomputation(data, report, contract, at_hand)
    return report


def _verify_layout(raw: bytes, data: dict[str, Any], report: VerificationReport) -> None:
    """One spelling only: the bytes must be exactly the rendering of what they hold."""
    rendered = bundle_render(data)
    problems = []
    if rendered != raw:
        offset, line, column = _first_difference(raw, rendered)
        problems.append(
            f"the file differs from its canonical layout at byte {offset} (line {line}, "
            f"column {column}): it was edited after it was written"
        )
    report.record("layout", problems, "the file is in its canonical layout")


def _first_difference(left: bytes, right: bytes) -> tuple[int, int, int]:
    """Byte offset, line and column of the first difference of two byte strings."""
    limit = min(len(left), len(right))
    offset = next((i for i in range(limit) if left[i] != right[i]), limit)
    line = left.count(b"\n", 0, offset) + 1
    column = offset - (left.rfind(b"\n", 0, offset) + 1) + 1
    return offset, line, column


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
    present = [name for name in OPTIONAL_PARTS if name in data or name in statement.parts]
    for name in (*PARTS, *present):
        if name not in data:
            part_problems.append(f"{name}: the statement signs it but the bundle has none")
            continue
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
    extra = sorted(set(statement.parts) - set(PARTS) - set(OPTIONAL_PARTS))
    if extra:
        part_problems.append(f"the statement names unknown part(s): {', '.join(extra)}")
    report.record(
        "parts", part_problems, f"{len(PARTS) + len(present)} parts match the signed hashes"
    )
    return statement


def _verify_ledger(
    data: dict[str, Any],
    report: VerificationReport,
    statement: Statement | None,
    ledger: LedgerCopy | None,
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
    if ledger is not None:
        report.record(
            "whole ledger",
            _whole_ledger_problems(ledger, entries),
            f"the slice is part of {ledger.name}, whose whole chain holds",
        )


def bundle_with_log_proof(raw: bytes, proof: Mapping[str, Any]) -> bytes:
    """The bundle with the transparency log's inclusion proof added (``transparency``:
    ``checkpoint``, ``log_key``, ``leaf_index``, ``proof``); the signed parts are unchanged."""
    data = bundle_parse(raw)
    data["transparency"] = {key: proof[key] for key in sorted(_TRANSPARENCY_KEYS)}
    rendered = bundle_render(data)
    bundle_parse(rendered)  # the shape it will be read with
    return rendered


def _verify_transparency(
    data: dict[str, Any], report: VerificationReport, pinned: str | None
) -> None:
    """The settlement entry is a leaf of a tree head the log signed (RFC 9162 inclusion proof,
    O(log n) hashes)."""
    log = data.get("transparency")
    if log is None:
        report.notes.append(
            "the bundle carries no transparency-log proof (written before the ledger was a "
            "transparency log, or outside the platform): its ledger slice is checked as a "
            "chain only"
        )
        if pinned is not None:
            report.record("transparency log", ["the bundle has no inclusion proof"], "")
        return
    problems: list[str] = []
    try:
        name, _kind, key = verifier_key_parse(pinned if pinned is not None else log["log_key"])
        if pinned is not None and pinned.strip() != log["log_key"].strip():
            problems.append("the tree head in the bundle names another log key than the given one")
        text, signatures = note_parse(log["checkpoint"])
        checkpoint = checkpoint_parse(text)
        proof = [b64decode_strict(h) for h in log["proof"]]
        last = entry_from_dict(data["ledger"][-1])
    except (ValueError, TypeError) as error:
        report.record("transparency log", [f"the proof cannot be read: {error}"], "")
        return
    if not note_verify(text, signatures, name=name, public_key=key):
        problems.append(f"the tree head is not signed by log key {name!r}")
    if checkpoint.origin != name:
        problems.append(f"the tree head is of log {checkpoint.origin!r}, the key of {name!r}")
    if log["leaf_index"] != last.sequence:
        problems.append(
            f"the proof is for leaf {log['leaf_index']}, the settlement entry is {last.sequence}"
        )
    try:
        included = verify_inclusion(
            log["leaf_index"], checkpoint.size, leaf_hash(entry_leaf(last)), proof, checkpoint.root
        )
    except ValueError as error:
        included, problems = False, [*problems, f"the proof cannot be read: {error}"]
    if not included:
        problems.append(
            f"the inclusion proof does not lead from entry {last.sequence} to the root of the "
            f"signed tree head of size {checkpoint.size}"
        )
    report.record(
        "transparency log",
        problems,
        f"entry {last.sequence} is in the tree head of {checkpoint.size} entries signed by "
        f"{name} ({len(proof)} hashes)",
    )
    if not problems and pinned is None:
        report.notes.append(
            "the tree head was checked with the log key in the bundle; give --log-key with "
            "the platform's published log key (or compare it with a witness) to check whose "
            "log it is"
        )


def _recorded_tables(data: Mapping[str, Any]) -> dict[str, list[tuple[str, int]]]:
    """Table name → every (digest, rows) the evaluations part records for it."""
    found: dict[str, list[tuple[str, int]]] = {}
    for evaluation in data["evaluations"]:
        for item in evaluation["tables"]:
            pair = (item["sha256"], item["rows"])
            if pair not in found.setdefault(item["table"], []):
                found[item["table"]].append(pair)
    return found


def _ledger_content_problems(data: dict[str, Any], entries: Sequence[LedgerEntry]) -> list[str]:
    """The slice must record this contract text, these facts and tables, this settlement."""
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
    for name, recorded in _recorded_tables(data).items():
        for sha, _rows in recorded:
            if not find(KIND_IMPORT, sha):
                problems.append(f"no import entry records table {name!r} with SHA-256 {sha}")
    try:
        settlement_sha = canonical_sha256(data["settlement"])
    except ValueError:
        settlement_sha = ""
    if not find(KIND_SETTLEMENT, settlement_sha):
        problems.append(f"no settlement entry records this settlement (SHA-256 {settlement_sha})")
    return problems


def _whole_ledger_problems(ledger: LedgerCopy, entries: Sequence[LedgerEntry]) -> list[str]:
    if ledger.problem is not None:
        return [ledger.problem]
    if not ledger.entries:
        return [f"{ledger.name} has no entries"]
    problems = [str(p) for p in verify_chain(ledger.entries)]
    by_sequence = {e.sequence: e for e in ledger.entries}
    for entry in entries:
        stored = by_sequence.get(entry.sequence)
        if stored is None:
            problems.append(f"entry {entry.sequence} of the bundle is not in {ledger.name}")
        elif stored.hash != entry.hash:
            problems.append(
                f"entry {entry.sequence} differs: the bundle has {entry.hash}, {ledger.name} has "
                f"{stored.hash}"
            )
    return problems


def _verify_contract(
    data: dict[str, Any],
    report: VerificationReport,
    statement: Statement | None,
    *,
    compile_text: bool,
) -> Contract | None:
    """The contract text is the signed one (and compiles, when it is to be used)."""
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


def _verify_evaluations(
    data: dict[str, Any], report: VerificationReport, contract: Contract
) -> None:
    """The evaluations part is the contract's bound evaluations, reading the tables they
    read; and the settlement's explanation names the same table digests."""
    recorded = data["evaluations"]
    problems: list[str] = []
    if recorded:
        expected = [
            {
                "evaluation": name,
                "method": contract.evaluations[name].method,
                "inputs": inputs,
                "tables": evaluation_tables(contract, contract.evaluations[name]),
            }
            for name, inputs in contract.bound_evaluations().items()
        ]
        shown = [
            {
                "evaluation": e["evaluation"],
                "method": e["method"],
                "inputs": e["inputs"],
                "tables": [t["table"] for t in e["tables"]],
            }
            for e in recorded
        ]
        problems.extend(
            d.replace("recomputed", "the contract says").replace(
                "in the recomputation", "in the contract"
            )
            for d in _compare(shown, expected, "evaluations")
        )
        days = sorted({str(e["as_of"]) for e in recorded})
        if len(days) > 1:
            problems.append(f"the evaluations took their data on different days: {', '.join(days)}")
        for day in days:
            if day != "None":
                try:
                    dt.date.fromisoformat(day)
                except ValueError:
                    problems.append(f"as_of {day!r} is not a day (YYYY-MM-DD)")
        provenance = _input_provenance(data["settlement"]["explanation"])
        for evaluation in recorded:
            digests = {t["table"]: t["sha256"] for t in evaluation["tables"]}
            for name in evaluation["inputs"]:
                explained = provenance.get(name, ("", {}))[1].get("tables")
                if explained is not None and explained != digests:
                    problems.append(
                        f"{evaluation['evaluation']}: the explanation of {name} names the "
                        f"tables {_shown(explained)}, the evaluations part {_shown(digests)}"
                    )
        for name, pairs in _recorded_tables(data).items():
            if len(pairs) > 1:
                problems.append(f"table {name!r} is recorded with different digests or rows")
    passed = (
        f"{len(recorded)} evaluation(s), as the contract binds them"
        if recorded
        else "no evaluation (settled on facts)"
    )
    report.record("evaluations", problems, passed)


def _read_canonical(content: str, contract: Contract, name: str) -> pa.Table:
    """A table's canonical CSV read back into its canonical form under the declaration."""
    declared = contract.data.table(name)
    text_types = {f.name: pa.string() for f in canonical_schema(declared)}
    raw = pacsv.read_csv(
        io.BytesIO(content.encode("utf-8")),
        parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=text_types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return conform(raw, declared, where=f"the bundle's table {name}")


def _supplied_provider(
    supplied: TablesSupplied | None, contract: Contract | None
) -> TableProvider | None:
    if supplied is None or contract is None:
        return None
    if hasattr(supplied, "table"):
        return supplied  # type: ignore[return-value]
    return supplied(contract.data)


def _verify_tables(
    data: dict[str, Any],
    report: VerificationReport,
    contract: Contract | None,
    supplied: TablesSupplied | None,
) -> dict[str, pa.Table]:
    """Tables at hand (included, or supplied by the verifier) have the recorded digests and
    rows; the tables, by name, in canonical form (only with the contract compiled)."""
    recorded = {name: pairs[0] for name, pairs in _recorded_tables(data).items()}
    days = {e["as_of"] for e in data["evaluations"]}
    day = next(iter(days)) if len(days) == 1 else None
    problems: list[str] = []
    at_hand: dict[str, pa.Table] = {}
    included = given = 0
    for name in sorted(set(data["tables"]) - set(recorded)):
        problems.append(f"table {name!r} is in the bundle, but no evaluation records reading it")
    for name, content in sorted(data["tables"].items()):
        if name not in recorded:
            continue
        sha, rows = recorded[name]
        actual = _sha256_text(content)
        if actual != sha:
            problems.append(
                f"table {name!r} was changed: its SHA-256 is {actual}, the evaluations part "
                f"records {sha}"
            )
            continue
        included += 1
        if contract is None:
            continue
        try:
            table = _read_canonical(content, contract, name)
        except (UtfallError, KeyError, pa.ArrowInvalid) as error:
            problems.append(f"table {name!r} does not fit the contract's declaration: {error}")
            problems.extend(f"  {line}" for line in getattr(error, "detail", []))
            continue
        if table.num_rows != rows or table_digest(table) != sha:
            problems.append(
                f"table {name!r} read under the contract's declaration has {table.num_rows} "
                f"row(s) and SHA-256 {table_digest(table)}, the evaluations part records "
                f"{rows} and {sha}"
            )
            continue
        at_hand[name] = table
    provider = _supplied_provider(supplied, contract)
    if provider is not None and contract is not None:
        for name, (sha, rows) in sorted(recorded.items()):
            if name in data["tables"]:
                continue
            try:
                table = provider.table(name)
                if day is not None:
                    table = as_of(
                        provider, contract.data, dt.date.fromisoformat(day), [name]
                    ).table(name)
            except TableMissing:
                continue
            except (UtfallError, KeyError, ValueError) as error:
                problems.append(f"table {name!r} supplied cannot be read: {error}")
                problems.extend(f"  {line}" for line in getattr(error, "detail", []))
                continue
            actual = table_digest(table)
            if actual != sha or table.num_rows != rows:
                problems.append(
                    f"table {name!r}: the bundle records SHA-256 {sha} ({rows} rows), but "
                    f"{provider.describe(name)} has {actual} ({table.num_rows} rows)"
                    + (f" as of {day}" if day is not None else "")
                )
                continue
            given += 1
            at_hand[name] = table
    passed = "no tables (settled on facts)"
    if recorded:
        passed = f"{included} of {len(recorded)} table(s) included and unchanged"
        if provider is not None:
            passed += f"; {given} supplied with the recorded SHA-256"
    report.record("tables", problems, passed)
    return at_hand


def _verify_recomputation(
    data: dict[str, Any],
    report: VerificationReport,
    contract: Contract | None,
    at_hand: Mapping[str, pa.Table],
) -> None:
    """Settle again from the bundle's own texts and compare every figure."""
    problems: list[str] = []
    if contract is None:
        report.record("recomputation", ["skipped: the contract text does not compile"], "")
        return
    recomputed = None
    try:
        recomputed = _recompute(data, report, contract, at_hand)
    except UtfallError as error:
        problems.append(f"the settlement cannot be recomputed: {error}")
        problems.extend(f"  {line}" for line in error.detail)
    except (ValueError, KeyError) as error:
        problems.append(f"the settlement cannot be recomputed: {error}")
    if recomputed is not None:
        problems.extend(_settlement_differences(data["settlement"], recomputed))
    report.record(
        "recomputation",
        problems,
        "every input, output, payment and explanation recomputes to the recorded value",
    )


def _recorded_facts(data: Mapping[str, Any]) -> Facts | None:
    part = data["facts"]
    if part is None:
        return None
    return facts_parse(
        part["text"], source=part["file"], json_text=part["file"].lower().endswith(".json")
    )


def _recompute(
    data: dict[str, Any],
    report: VerificationReport,
    contract: Contract,
    at_hand: Mapping[str, pa.Table],
) -> dict[str, Any]:
    """Settle again from the bundle's own texts (and its tables, when all are at hand)."""
    evaluations = data["evaluations"]
    overrides = data["overrides"]
    facts = _recorded_facts(data)
    if not evaluations:
        run = contract_settle(contract, facts=facts, overrides=overrides)
        report.notes.append("settled again from the contract text and the recorded facts")
        return settlement_document(run.settlement)

    needed = set(_recorded_tables(data))
    if needed <= set(at_hand):
        days = {e["as_of"] for e in evaluations}
        if len(days) != 1:
            raise ValueError("the evaluations took their data on different days")
        (day,) = days
        until = dt.date.fromisoformat(day) if day is not None else None
        run = contract_settle(
            contract,
            facts=facts,
            tables=ArrowTables(dict(at_hand), origin="the bundle's tables"),
            overrides=overrides,
            until=until,
        )
        when = f" as of {day}" if day is not None else ""
        report.notes.append(f"re-ran every evaluation on the tables{when} and settled again")
        return settlement_document(run.settlement)

    # Without the tables the evaluated inputs are taken as recorded; the tables' digests
    # are still checked against the ledger and the explanation.
    values: dict[str, Any] = dict(facts.values) if facts is not None else {}
    recorded_inputs = data["settlement"]["inputs"]
    provenance = _input_provenance(data["settlement"]["explanation"])
    origins: dict[str, str] = {}
    details: dict[str, dict[str, Any]] = {}
    bound = [name for e in evaluations for name in e["inputs"]]
    for name in bound:
        if name in recorded_inputs:
            values[name] = recorded_inputs[name]
        if name in provenance:
            origins[name], details[name] = provenance[name]
    settlement = settle(
        contract,
        values,
        overrides=overrides,
        origins=origins,
        details=details,
        source=data["facts"]["file"] if data["facts"] is not None else None,
    )
    missing = sorted(needed - set(at_hand))
    report.notes.append(
        f"evaluations not re-run (not every table is at hand: {', '.join(missing)}): "
        f"{', '.join(bound)} taken as recorded; the ledger records the SHA-256 of their "
        "tables (give --data-dir with the tables, or a bundle made with --include-data, "
        "to re-run them)"
    )
    return settlement_document(settlement)


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
            label = (
                (a.get("id") or a.get("name") or a.get("evaluation"))
                if isinstance(a, dict)
                else None
            )
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
            details = node.get("details")
            found[node["name"]] = (
                str(node.get("origin")),
                dict(details) if isinstance(details, Mapping) else {},
            )
        for child in node.get("children") or []:
            walk(child)

    for tree in explanation.values():
        walk(tree)
    return found
