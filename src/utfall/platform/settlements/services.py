"""The settlement workflow: draft → review by the parties → signed off by the evaluator → final.

Each function checks the permission rule (``permissions.py``), writes in one
transaction and records the audit event; sign-off also appends the ledger
entries and stores the signed bundle. The computing is the one pipeline of
``utfall.services``: ``contract_settle`` (and, at sign-off, ``bundle_create``) on
the contract's stored rows (:class:`utfall.platform.tables.StoredTables`) as of the
period's end, with the inputs no evaluation gives as the statement's facts. No file
is written on the way: the same objects ``utfall settle --data-dir … --sign``
builds from its files.

A final statement never changes: every function here refuses it, the pages
and the API offer nothing that changes it and the admin shows it read-only. A
correction is a new statement that references the final one, with a reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from utfall.core.contracts import Contract as CoreContract
from utfall.core.contracts import parse_contract
from utfall.core.contracts.model import NUMERIC_TYPES
from utfall.core.contracts.values import coerce_value
from utfall.core.contracts.yamlio import read_yaml
from utfall.core.ledger import canonical_sha256, statement_from_dict
from utfall.errors import Finding, FindingsError, UserError, UtfallError
from utfall.platform.audit.services import audit_record
from utfall.platform.contracts.models import (
    Contract,
    ContractParty,
    ContractVersion,
    Role,
    Settlement,
    SettlementStatus,
)
from utfall.platform.permissions import Action, require, roles_of
from utfall.platform.settlements.keys import evaluator_key_ensure, evaluator_key_private
from utfall.platform.settlements.layered import statement_facts_lines, upstream_statements
from utfall.platform.settlements.ledger import ledger_chain, ledger_head, ledger_store
from utfall.platform.settlements.models import FinancePlan, SettlementComment
from utfall.platform.settlements.transparency import log_bundle_proof
from utfall.platform.tables import StoredTables
from utfall.services.bundles import bundle_create, bundle_with_log_proof, settlement_document
from utfall.services.contracts import Facts, contract_settle, facts_parse
from utfall.services.formatting import NumberParseError, parse_number

__all__ = [
    "finance_plan_upload",
    "manual_inputs_needed",
    "settlement_comment",
    "settlement_discard",
    "settlement_job",
    "settlement_job_run",
    "settlement_job_start",
    "settlement_review_start",
    "settlement_revise",
    "settlement_sign",
    "settlement_start",
]

_SIGN_ATTEMPTS = 3
_log = logging.getLogger(__name__)
# An absolute path (two components or more): the server's files are nobody's business.
_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s/'\"<>]+/)+([^\s/'\"<>:,;)]*)")


def _without_paths(error: UserError) -> UserError:
    """The error with every server path cut down to its file name (the full one is logged)."""
    message = _PATH.sub(lambda m: m.group(1) or "…", error.message)
    if message != error.message:
        _log.warning("sign-off error (paths removed for the user): %s", error.message)
    detail = [_PATH.sub(lambda m: m.group(1) or "…", str(d)) for d in error.detail]
    if message == error.message and detail == [str(d) for d in error.detail]:
        return error
    cleaned = UserError(message)
    if detail:
        return FindingsError(message, [Finding("sign-off", line) for line in detail])
    return cleaned


def _latest_version(contract: Contract) -> ContractVersion:
    version = contract.versions.order_by("-number").first()
    if version is None:
        raise UserError("the contract has no version")
    return version


def _document(version: ContractVersion) -> CoreContract:
    return parse_contract(version.text, source=f"{version.contract.identifier} v{version.number}")


def manual_inputs_needed(document: CoreContract) -> list[Any]:
    """Inputs not bound to an evaluation nor taken from another contract's signed statement
    (layered contracts): the evaluator enters them, with a reason."""
    return [
        term
        for term in document.inputs.values()
        if not term.evaluate and term.from_contract is None
    ]


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _facts_text(settlement: Settlement, document: CoreContract) -> str:
    """The facts file of a statement: entered values, their reasons and the period as comments.

    It goes into the signed bundle as it is, so the reasons, the period and what a
    correction corrects are signed with the figures.
    """
    lines = [
        f"# Settlement of {settlement.contract.identifier}, contract version "
        f"{settlement.version.number}, period {settlement.period_start} – {settlement.period_end}",
        "# Inputs bound to an evaluation are computed from the imported data; the values",
        "# below were entered by the evaluator, each with the reason given.",
    ]
    if settlement.supersedes_id is not None:
        lines.append(
            f"# Corrects statement {settlement.supersedes_id} "
            f"(settlement sha256 {settlement.supersedes.sha256}): "
            f"{_one_line(settlement.correction_reason)}"
        )
    # Layered contracts: inputs taken from the upstream contracts' signed statements, each
    # linked to the statement's settlement SHA-256 (signed with the figures).
    values = statement_facts_lines(document)
    for name, entry in sorted(settlement.manual_inputs.items()):
        term = document.inputs[name]
        value = str(entry["value"]).strip()
        shown = value.lower() if term.type == "boolean" else json.dumps(value, ensure_ascii=False)
        values.append(f"# {name}: {_one_line(str(entry['reason']))}")
        values.append(f"{name}: {shown}")
    return "\n".join(lines + values + ([] if values else ["{}"])) + "\n"


def _facts(settlement: Settlement, document: CoreContract) -> Facts:
    """The statement's facts: the entered values, read from the text the bundle records."""
    return facts_parse(
        _facts_text(settlement, document),
        source=f"statement facts ({settlement.contract.identifier})",
    )


def _tables(settlement: Settlement, document: CoreContract) -> StoredTables | None:
    """The contract's stored rows, when an input is computed from data."""
    return StoredTables(settlement.contract) if document.bound_evaluations() else None


def _compute(settlement: Settlement, document: CoreContract) -> dict[str, Any]:
    """The settlement document (with its explanation) from the rows stored so far, as of the
    period's end."""
    try:
        run = contract_settle(
            document,
            facts=_facts(settlement, document),
            tables=_tables(settlement, document),
            until=settlement.period_end,
        )
    except UserError:
        raise
    except UtfallError as error:  # an estimator without a number: the evaluator can act
        raise UserError(f"the evaluation failed: {error.message}") from None
    return settlement_document(run.settlement)


def _refuse_final(settlement: Settlement) -> None:
    if settlement.status == SettlementStatus.SIGNED:
        raise UserError("this statement is final and cannot be changed; start a correction instead")


def _manual_inputs_check(
    document: CoreContract, manual_inputs: Mapping[str, tuple[str, str]] | None
) -> dict[str, tuple[str, str]]:
    """Every input no evaluation computes has a value and a reason; no other input is given."""
    needed = {term.name for term in manual_inputs_needed(document)}
    given = {
        name: (str(v).strip(), str(r).strip()) for name, (v, r) in (manual_inputs or {}).items()
    }
    problems = [
        Finding("computed-input", "this input is computed from the data", path=name)
        for name in given
        if name not in needed
    ]
    for name in sorted(needed):
        value, why = given.get(name, ("", ""))
        if not value:
            problems.append(Finding("input-missing", "enter a value", path=name))
            continue
        if not why:
            problems.append(
                Finding("reason-missing", "give the reason for the value (its source)", path=name)
            )
        try:
            value = _entered_value(value, document.inputs[name])
        except ValueError as error:  # named by the input, never by a file or a line
            code = "not-a-number" if isinstance(error, NumberParseError) else "bad-input"
            problems.append(Finding(code, str(error), path=name))
        else:
            given[name] = (value, why)
    if problems:
        raise FindingsError("the statement was not computed", problems)
    return given


def _entered_value(value: str, term: Any) -> str:
    """An entered value as the facts record it: a number typed in Swedish or plain form
    (``10 000 000,00``, ``1,5``) as plain decimal text, checked against the input's type
    and bounds (``ValueError`` in words otherwise)."""
    if term.type in NUMERIC_TYPES:
        figure = parse_number(value, "sv")
        coerce_value(figure, term)
        return f"{figure:f}"
    if term.type != "series":
        coerce_value(value, term)
    return value


def settlement_start(
    *,
    contract: Contract,
    actor: AbstractBaseUser,
    period_start: dt.date,
    period_end: dt.date,
    manual_inputs: Mapping[str, tuple[str, str]] | None = None,
    supersedes: Settlement | None = None,
    correction_reason: str = "",
) -> Settlement:
    """Compute a draft statement for the period (the evaluator's task).

    ``manual_inputs`` maps each input that no evaluation computes to
    ``(value, reason)``. With ``supersedes`` the draft is a correction of that
    final statement and needs ``correction_reason``.
    """
    require(actor, Action.PREPARE_SETTLEMENT, contract)
    if period_end < period_start:
        raise UserError("the period ends before it starts")
    reason = correction_reason.strip()
    if supersedes is not None:
        if supersedes.contract_id != contract.pk or supersedes.status != SettlementStatus.SIGNED:
            raise UserError("a correction must reference a final statement of the same contract")
        if not reason:
            raise UserError("a correction needs a stated reason")
    elif reason:
        raise UserError("a reason for a correction is given, but no statement to correct")
    version = _latest_version(contract)
    document = _document(version)
    given = _manual_inputs_check(document, manual_inputs)
    settlement = Settlement(
        contract=contract,
        version=version,
        period_start=period_start,
        period_end=period_end,
        manual_inputs={n: {"value": v, "reason": r} for n, (v, r) in sorted(given.items())},
        supersedes=supersedes,
        correction_reason=reason,
        created_by=actor,
        facts={},
        result={},
    )
    result = _compute(settlement, document)  # slow (evaluations): outside the transaction
    settlement.result = result
    settlement.facts = result["inputs"]
    settlement.sha256 = canonical_sha256(result)
    with transaction.atomic():
        settlement.save()
        audit_record(
            actor=actor,
            action="settlement.prepared",
            contract=contract,
            settlement=settlement.pk,
            sha256=settlement.sha256,
            period=f"{period_start}/{period_end}",
            supersedes=supersedes.pk if supersedes else None,
            reason=reason,
        )
    return settlement


@transaction.atomic
def settlement_review_start(*, settlement: Settlement, actor: AbstractBaseUser) -> Settlement:
    """Send a draft to the parties for review (comments) before sign-off."""
    require(actor, Action.PREPARE_SETTLEMENT, settlement.contract)
    settlement = Settlement.objects.select_for_update().get(pk=settlement.pk)
    _refuse_final(settlement)
    if settlement.status != SettlementStatus.DRAFT:
        raise UserError("the statement is already in review")
    settlement.status = SettlementStatus.REVIEW
    settlement.review_started_at = timezone.now()
    settlement.save(update_fields=["status", "review_started_at"])
    audit_record(
        actor=actor,
        action="settlement.review_started",
        contract=settlement.contract,
        settlement=settlement.pk,
    )
    return settlement


@transaction.atomic
def settlement_comment(
    *, settlement: Settlement, actor: AbstractBaseUser, text: str
) -> SettlementComment:
    """A party's comment on a draft or a statement in review."""
    require(actor, Action.COMMENT_SETTLEMENT, settlement.contract)
    _refuse_final(settlement)
    text = text.strip()
    if not text:
        raise UserError("the comment is empty")
    roles = ", ".join(sorted(r.value for r in roles_of(actor, settlement.contract)))
    comment = SettlementComment.objects.create(
        settlement=settlement, author=actor, roles=roles, text=text
    )
    audit_record(
        actor=actor,
        action="settlement.commented",
        contract=settlement.contract,
        settlement=settlement.pk,
        comment=comment.pk,
    )
    return comment


_CODE_ATTEMPTS = 5  # wrong TOTP codes per signer …
_CODE_WINDOW = 300  # … within this many seconds, then sign-off waits


def _second_factor(actor: AbstractBaseUser, code: str) -> None:
    """Re-authentication: a fresh TOTP code of the signer (allauth MFA), used once.

    "Once" holds under concurrency too: of twenty simultaneous sign requests with the
    same code one passes (``second_factor_code_spend``).

    Wrong codes are counted per signer, so six digits cannot be guessed through
    the API: after five wrong codes sign-off waits five minutes.
    """
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP
    from django.core.cache import cache

    from utfall.platform.organisations.services import second_factor_code_spend

    authenticator = Authenticator.objects.filter(user=actor, type=Authenticator.Type.TOTP).first()
    if authenticator is None:
        raise UserError("sign-off needs two-factor authentication: set up TOTP first")
    counter = f"utfall.settlements.sign-code-failures.{actor.pk}"
    if (cache.get(counter) or 0) >= _CODE_ATTEMPTS:
        raise UserError("too many wrong two-factor codes; wait five minutes and try again")
    code = code.strip()
    if not re.fullmatch(r"\d{6}", code) or not TOTP(authenticator).validate_code(code):
        cache.add(counter, 0, timeout=_CODE_WINDOW)
        cache.incr(counter)
        raise UserError("the two-factor code is wrong or was used already; enter the current code")
    # allauth marks a used code in the cache, which concurrent processes do not share
    # atomically; one row per spent code does (decision 0603).
    if not second_factor_code_spend(user=actor, code=code):
        raise UserError("the two-factor code is wrong or was used already; enter the current code")


def _parties_part(contract: Contract) -> dict[str, Any]:
    """The bundle's signed ``parties`` part: who the parties are at sign-off, and every
    change of them, as the audit trail records it (decision 0601)."""
    from utfall.platform.contracts.selectors import contract_parties, contract_party_history

    return {
        "current": [
            {"organisation": party.organisation.name, "role": party.role}
            for party in contract_parties(contract=contract)
        ],
        "history": contract_party_history(contract=contract),
    }


def _signer_name(actor: AbstractBaseUser, contract: Contract) -> str:
    party = (
        ContractParty.objects.filter(
            contract=contract, role=Role.EVALUATOR, organisation__memberships__user=actor
        )
        .select_related("organisation")
        .first()
    )
    name = actor.get_username()
    return f"{party.organisation.name} ({name})" if party else name


def settlement_sign(
    *, settlement: Settlement, actor: AbstractBaseUser, totp_code: str
) -> Settlement:
    """Sign a statement in review off: the evaluator alone, re-authenticated with TOTP.

    The statement is computed again from the same data (the result must be the
    one the parties reviewed), recorded in the ledger, signed with the
    evaluator's key and written as a bundle; from then on it is final.
    """
    contract = settlement.contract
    require(actor, Action.SIGN_SETTLEMENT, contract)
    settlement.refresh_from_db()
    _refuse_final(settlement)
    if settlement.status != SettlementStatus.REVIEW:
        raise UserError("send the statement to the parties for review before signing it off")
    if settlement.supersedes_id is not None:
        other = Settlement.objects.filter(
            supersedes_id=settlement.supersedes_id, status=SettlementStatus.SIGNED
        ).first()
        if other is not None:
            raise UserError(
                f"statement {settlement.supersedes_id} was already corrected by {other.pk}; "
                f"correct that one instead"
            )
    _second_factor(actor, totp_code)
    key = evaluator_key_ensure(user=actor)
    private_key = evaluator_key_private(key)
    document = _document(settlement.version)
    superseded_statement = (
        statement_from_dict(settlement.supersedes.statement).sha256()
        if settlement.supersedes is not None and settlement.supersedes.statement
        else None
    )
    facts = _facts(settlement, document)
    for _attempt in range(_SIGN_ATTEMPTS):
        head = ledger_head()
        try:
            written = bundle_create(
                contract=document,
                contract_file=f"{contract.identifier}.yaml",
                facts=facts,
                tables=_tables(settlement, document),
                until=settlement.period_end,
                overrides={},
                private_key=private_key,
                now=timezone.now(),
                actor=actor.get_username(),
                evaluator=_signer_name(actor, contract),
                ledger=ledger_chain(),
                supersedes=superseded_statement,
                parties=_parties_part(contract),
            )
        except UserError as error:
            raise _without_paths(error) from None
        except UtfallError as error:
            raise _without_paths(UserError(f"the evaluation failed: {error.message}")) from None
        except OSError as error:
            _log.exception("sign-off of statement %s could not read a file", settlement.pk)
            raise UserError(
                f"sign-off failed: a file the server needs could not be read "
                f"({error.strerror or type(error).__name__}); the details are in the server log"
            ) from None
        if written.statement.parts["settlement"] != settlement.sha256:
            raise UserError(
                "the data changed since this statement was computed (a new import?): the "
                "figures would differ from the ones reviewed; start a new statement"
            )
        with transaction.atomic():
            locked = Settlement.objects.select_for_update().get(pk=settlement.pk)
            _refuse_final(locked)
            current = ledger_head(lock=True)
            if (current.hash if current else None) != (head.hash if head else None):
                continue  # someone appended meanwhile: sign again after the new head
            if not ledger_store(list(written.entries), contract_identifier=contract.identifier):
                continue
            # The head just signed proves the settlement entry is in the log (transparency.py).
            proof = log_bundle_proof(sequence=written.entries[-1].sequence)
            bundle = bundle_with_log_proof(written.data, proof).decode("utf-8")
            locked.status = SettlementStatus.SIGNED
            locked.signed_by = actor
            locked.signed_at = timezone.now()
            locked.statement = written.statement.as_dict()
            locked.signature = json.loads(bundle)["signature"]["value"]
            locked.key_fingerprint = key.fingerprint
            locked.bundle = bundle
            locked.save()
            audit_record(
                actor=actor,
                action="settlement.signed",
                contract=contract,
                settlement=locked.pk,
                sha256=locked.sha256,
                statement_sha256=written.statement.sha256(),
                ledger_head=written.statement.ledger_head,
                key=key.fingerprint,
            )
            return locked
    raise UserError("the ledger kept changing while signing; try again")


def settlement_revise(
    *,
    settlement: Settlement,
    actor: AbstractBaseUser,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    manual_inputs: Mapping[str, tuple[str, str]] | None = None,
) -> Settlement:
    """Change a draft (or a statement in review: it goes back to draft) and compute it again."""
    require(actor, Action.PREPARE_SETTLEMENT, settlement.contract)
    settlement.refresh_from_db()
    _refuse_final(settlement)
    document = _document(settlement.version)
    if manual_inputs is not None:
        settlement.manual_inputs = {
            n: {"value": v, "reason": r}
            for n, (v, r) in sorted(_manual_inputs_check(document, manual_inputs).items())
        }
    settlement.period_start = period_start or settlement.period_start
    settlement.period_end = period_end or settlement.period_end
    if settlement.period_end < settlement.period_start:
        raise UserError("the period ends before it starts")
    result = _compute(settlement, document)
    with transaction.atomic():
        locked = Settlement.objects.select_for_update().get(pk=settlement.pk)
        _refuse_final(locked)
        locked.period_start, locked.period_end = settlement.period_start, settlement.period_end
        locked.manual_inputs = settlement.manual_inputs
        locked.result, locked.facts = result, result["inputs"]
        locked.sha256 = canonical_sha256(result)
        locked.status = SettlementStatus.DRAFT
        locked.save()
        audit_record(
            actor=actor,
            action="settlement.revised",
            contract=locked.contract,
            settlement=locked.pk,
            sha256=locked.sha256,
        )
    return locked


@transaction.atomic
def settlement_discard(*, settlement: Settlement, actor: AbstractBaseUser) -> None:
    """Delete a statement that is not final (a final one is kept for ever)."""
    require(actor, Action.PREPARE_SETTLEMENT, settlement.contract)
    locked = Settlement.objects.select_for_update().get(pk=settlement.pk)
    _refuse_final(locked)
    audit_record(
        actor=actor,
        action="settlement.discarded",
        contract=locked.contract,
        settlement=locked.pk,
        sha256=locked.sha256,
    )
    locked.comments.all().delete()
    locked.delete()


@transaction.atomic
def finance_plan_upload(*, contract: Contract, actor: AbstractBaseUser, text: str) -> FinancePlan:
    """Store the contract's finance plan (commissioner or financier); checked when used.

    A plan that is not YAML within the loader's limits (no aliases, depth, size, node
    count) is refused here, so it is never stored and never read on every view.
    """
    roles = roles_of(actor, contract)
    if not roles & {Role.COMMISSIONER, Role.FINANCIER}:
        require(actor, Action.MANAGE_PARTIES, contract)  # raises with the usual message
    try:
        read_yaml(text, source="the finance plan", what="the finance plan")
    except ValueError as error:
        raise FindingsError("the finance plan cannot be read", [error.args[0]]) from None
    plan = FinancePlan.objects.create(
        contract=contract,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        uploaded_by=actor,
    )
    audit_record(actor=actor, action="finance.plan_uploaded", contract=contract, sha256=plan.sha256)
    return plan


# Computing a statement in the background (decision 0837) ---------------------------------

_JOB_TIMEOUT = 24 * 3600


def _job_key(job: str) -> str:
    return f"utfall.settlements.job.{job}"


def settlement_job(job: str) -> dict[str, Any] | None:
    """The state of a statement being computed: ``state`` (queued, running, done, failed),
    the statement's ``settlement`` id when done, the ``message`` and ``findings`` when it
    failed, and who started it (``actor``, ``contract``)."""
    from django.core.cache import cache

    found = cache.get(_job_key(job))
    return found if isinstance(found, dict) else None


def _job_set(job: str, **values: Any) -> None:
    from django.core.cache import cache

    state = settlement_job(job) or {}
    state.update(values)
    cache.set(_job_key(job), state, timeout=_JOB_TIMEOUT)


def settlement_job_start(
    *,
    contract: Contract,
    actor: AbstractBaseUser,
    period_start: dt.date,
    period_end: dt.date,
    manual_inputs: Mapping[str, tuple[str, str]] | None = None,
    supersedes: Settlement | None = None,
    correction_reason: str = "",
) -> str:
    """Check a start request as :func:`settlement_start` does (permission, period, the
    entered inputs, a correction's reason), then compute it as a background task; the job's
    id to follow it with :func:`settlement_job`."""
    import uuid

    from utfall.platform.settlements.tasks import compute_statement

    require(actor, Action.PREPARE_SETTLEMENT, contract)
    if period_end < period_start:
        raise UserError("the period ends before it starts")
    document = _document(_latest_version(contract))
    _manual_inputs_check(document, manual_inputs)
    upstream_statements(document)  # a layered contract: its upstream statements signed first
    job = uuid.uuid4().hex
    request = {
        "contract": contract.pk,
        "actor": actor.pk,
        "period_start": period_start.isoformat(),
        "period_end": period_end.isoformat(),
        "manual_inputs": {n: list(pair) for n, pair in (manual_inputs or {}).items()},
        "supersedes": supersedes.pk if supersedes is not None else None,
        "correction_reason": correction_reason,
    }
    _job_set(job, state="queued", contract=contract.pk, actor=actor.pk, started=_time_now())
    compute_statement.enqueue(job, request)
    return job


def _time_now() -> str:
    """Now, as the job records it (ISO 8601)."""
    return timezone.now().isoformat()


def settlement_job_run(*, job: str, request: Mapping[str, Any]) -> str:
    """The background task's work: compute the statement, record the outcome in the job."""
    from django.contrib.auth import get_user_model

    _job_set(job, state="running")
    try:
        contract = Contract.objects.get(pk=request["contract"])
        actor = get_user_model().objects.get(pk=request["actor"])
        supersedes = (
            Settlement.objects.get(pk=request["supersedes"]) if request["supersedes"] else None
        )
        statement = settlement_start(
            contract=contract,
            actor=actor,
            period_start=dt.date.fromisoformat(request["period_start"]),
            period_end=dt.date.fromisoformat(request["period_end"]),
            manual_inputs={n: (v, r) for n, (v, r) in request["manual_inputs"].items()},
            supersedes=supersedes,
            correction_reason=request["correction_reason"],
        )
    except UtfallError as error:
        cleaned = _without_paths(error) if isinstance(error, UserError) else error
        findings = (
            [f.as_dict() for f in cleaned.findings] if isinstance(cleaned, FindingsError) else []
        )
        _job_set(
            job,
            state="failed",
            message=cleaned.message,
            findings=findings,
            detail=[str(d) for d in cleaned.detail] if not findings else [],
        )
        return "failed"
    except Exception:
        _log.exception("computing statement job %s failed", job)
        _job_set(job, state="failed", message="the statement could not be computed", findings=[])
        return "failed"
    _job_set(job, state="done", settlement=statement.pk)
    return "done"
