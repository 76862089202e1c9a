"""Settlement endpoints of the REST API (a django-ninja router added to ``platform.api``).

Same rules as the pages: every endpoint calls a selector or service, which asks
``permissions.py``. A final statement refuses every change (400 with the reason).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from utfall.platform.api_schemas import ERRORS
from utfall.platform.contracts import selectors as contract_selectors
from utfall.platform.permissions import Action
from utfall.platform.settlements import selectors, services
from utfall.platform.settlements.models import SettlementComment
from utfall.platform.settlements.presentation import current_language, figure
from utfall.services import formatting
from utfall.services.labels import label

__all__ = ["router"]

router = Router(tags=["settlements"])


class ManualInputIn(Schema):
    value: str
    reason: str


class StartIn(Schema):
    period_start: date
    period_end: date
    manual_inputs: dict[str, ManualInputIn] = Field(default_factory=dict)
    supersedes: int | None = None
    correction_reason: str = ""


class ReviseIn(Schema):
    period_start: date | None = None
    period_end: date | None = None
    manual_inputs: dict[str, ManualInputIn] | None = None


class CommentIn(Schema):
    text: str


class SignIn(Schema):
    totp_code: str


class CommentOut(Schema):
    author: str
    roles: str
    text: str
    created_at: datetime


class StatementOut(Schema):
    id: int
    status: str
    period_start: date | None
    period_end: date | None
    contract_version: int
    sha256: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    payments: list[dict[str, Any]]
    manual_inputs: dict[str, Any]
    supersedes: int | None
    correction_reason: str
    created_by: str
    created_at: datetime
    signed_by: str | None
    signed_at: datetime | None
    key_fingerprint: str
    statement: dict[str, Any] | None
    display: dict[str, Any] = Field(
        description=(
            "The statement as people read it, in the request's language (Accept-Language: "
            "sv or en): labels instead of identifiers, figures written the language's way. "
            "The machine fields above stay decimal strings."
        )
    )


class StatementDetailOut(StatementOut):
    explanation: dict[str, Any]
    comments: list[CommentOut]


class KeyOut(Schema):
    evaluator: str
    fingerprint: str
    public_key: str
    created_at: datetime
    retired_at: datetime | None


def _contract(request: HttpRequest, identifier: str, action: Action = Action.VIEW_SETTLEMENTS):
    return contract_selectors.contract_get(user=request.user, identifier=identifier, action=action)


def _display(statement: Any, result: dict[str, Any]) -> dict[str, Any]:
    """Labels and figures for people (issue 15): the one formatting layer, the contract's
    own labels, the request's language."""
    language = current_language()
    document = contract_selectors.parsed_version(statement.version)
    return {
        "language": language,
        "status": str(statement.get_status_display()),
        "period": " – ".join(
            formatting.date(day, language)
            for day in (statement.period_start, statement.period_end)
            if day
        ),
        "outputs": [
            {
                "name": name,
                "label": label(document, "output", name, language),
                "value": figure(document, name, value, language),
            }
            for name, value in result.get("outputs", {}).items()
        ],
        "payments": [
            {
                "id": payment.get("id"),
                "label": label(document, "payment", str(payment.get("id")), language),
                "payer": label(document, "party", str(payment.get("from")), language),
                "payee": label(document, "party", str(payment.get("to")), language),
                "amount": formatting.money(payment.get("amount_sek"), language),
            }
            for payment in result.get("payments", [])
        ],
    }


def _out(statement: Any, *, detail: bool = False) -> dict[str, Any]:
    result = statement.result or {}
    out = {
        "id": statement.pk,
        "status": statement.status,
        "period_start": statement.period_start,
        "period_end": statement.period_end,
        "contract_version": statement.version.number,
        "sha256": statement.sha256,
        "inputs": result.get("inputs", {}),
        "outputs": result.get("outputs", {}),
        "payments": result.get("payments", []),
        "manual_inputs": statement.manual_inputs,
        "supersedes": statement.supersedes_id,
        "correction_reason": statement.correction_reason,
        "created_by": statement.created_by.get_username(),
        "created_at": statement.created_at,
        "signed_by": statement.signed_by.get_username() if statement.signed_by else None,
        "signed_at": statement.signed_at,
        "key_fingerprint": statement.key_fingerprint,
        "statement": statement.statement,
        "display": _display(statement, result),
    }
    if detail:
        out["explanation"] = result.get("explanation", {})
        out["comments"] = [
            {
                "author": c.author.get_username(),
                "roles": c.roles,
                "text": c.text,
                "created_at": c.created_at,
            }
            for c in SettlementComment.objects.filter(settlement=statement).select_related("author")
        ]
    return out


def _get(request: HttpRequest, identifier: str, pk: int) -> Any:
    return selectors.settlement_get(
        user=request.user, contract=_contract(request, identifier), pk=pk
    )


def _manual(values: dict[str, ManualInputIn] | None) -> dict[str, tuple[str, str]] | None:
    if values is None:
        return None
    return {name: (item.value, item.reason) for name, item in values.items()}


@router.get("/contracts/{identifier}/settlements", response={200: list[StatementOut], **ERRORS})
def settlement_list(request: HttpRequest, identifier: str) -> list[dict[str, Any]]:
    """The contract's statements, newest first."""
    contract = _contract(request, identifier)
    return [_out(s) for s in selectors.settlement_list(user=request.user, contract=contract)]


@router.post("/contracts/{identifier}/settlements", response={201: StatementDetailOut, **ERRORS})
def settlement_start(request: HttpRequest, identifier: str, body: StartIn) -> Status:
    """Compute a draft from the imported data (the evaluator); a correction names ``supersedes``."""
    contract = _contract(request, identifier)
    supersedes = None
    if body.supersedes is not None:
        supersedes = selectors.settlement_get(
            user=request.user, contract=contract, pk=body.supersedes
        )
    statement = services.settlement_start(
        contract=contract,
        actor=request.user,
        period_start=body.period_start,
        period_end=body.period_end,
        manual_inputs=_manual(body.manual_inputs),
        supersedes=supersedes,
        correction_reason=body.correction_reason,
    )
    return Status(201, _out(statement, detail=True))


@router.get(
    "/contracts/{identifier}/settlements/{pk}", response={200: StatementDetailOut, **ERRORS}
)
def settlement_detail(request: HttpRequest, identifier: str, pk: int) -> dict[str, Any]:
    """One statement with its explanation trees and review comments."""
    return _out(_get(request, identifier, pk), detail=True)


@router.patch(
    "/contracts/{identifier}/settlements/{pk}", response={200: StatementDetailOut, **ERRORS}
)
def settlement_revise(request: HttpRequest, identifier: str, pk: int, body: ReviseIn) -> Any:
    """Change a draft's period or entered inputs and compute it again (never a final one)."""
    statement = services.settlement_revise(
        settlement=_get(request, identifier, pk),
        actor=request.user,
        period_start=body.period_start,
        period_end=body.period_end,
        manual_inputs=_manual(body.manual_inputs),
    )
    return _out(statement, detail=True)


@router.delete("/contracts/{identifier}/settlements/{pk}", response={204: None, **ERRORS})
def settlement_discard(request: HttpRequest, identifier: str, pk: int) -> Status:
    """Discard a statement that is not final."""
    services.settlement_discard(settlement=_get(request, identifier, pk), actor=request.user)
    return Status(204, None)


@router.post(
    "/contracts/{identifier}/settlements/{pk}/review", response={200: StatementOut, **ERRORS}
)
def settlement_review(request: HttpRequest, identifier: str, pk: int) -> dict[str, Any]:
    """Send a draft to the parties for review."""
    return _out(
        services.settlement_review_start(
            settlement=_get(request, identifier, pk), actor=request.user
        )
    )


@router.post(
    "/contracts/{identifier}/settlements/{pk}/comments", response={201: CommentOut, **ERRORS}
)
def settlement_comment(request: HttpRequest, identifier: str, pk: int, body: CommentIn) -> Status:
    """A party's comment on a statement under review."""
    comment = services.settlement_comment(
        settlement=_get(request, identifier, pk), actor=request.user, text=body.text
    )
    return Status(
        201,
        {
            "author": comment.author.get_username(),
            "roles": comment.roles,
            "text": comment.text,
            "created_at": comment.created_at,
        },
    )


@router.post(
    "/contracts/{identifier}/settlements/{pk}/sign", response={200: StatementOut, **ERRORS}
)
def settlement_sign(request: HttpRequest, identifier: str, pk: int, body: SignIn) -> Any:
    """Sign off (the evaluator, with a fresh TOTP code): the statement becomes final."""
    statement = services.settlement_sign(
        settlement=_get(request, identifier, pk), actor=request.user, totp_code=body.totp_code
    )
    return _out(statement)


@router.get("/contracts/{identifier}/settlements/{pk}/bundle", response={200: None, **ERRORS})
def settlement_bundle(request: HttpRequest, identifier: str, pk: int) -> HttpResponse:
    """The signed bundle of a final statement (``utfall verify`` checks it)."""
    from utfall.errors import UserError

    statement = _get(request, identifier, pk)
    if not statement.bundle:
        raise UserError("only a final statement has a bundle")
    response = HttpResponse(statement.bundle.encode("utf-8"), content_type="application/json")
    response["Content-Disposition"] = (
        f'attachment; filename="{identifier}-settlement-{statement.pk}.bundle.json"'
    )
    return response


@router.get("/keys", response={200: list[KeyOut], **ERRORS})
def keys(request: HttpRequest) -> list[dict[str, Any]]:
    """Every evaluator's public signing key."""
    return [
        {
            "evaluator": k.user.get_username(),
            "fingerprint": k.fingerprint,
            "public_key": k.public_key,
            "created_at": k.created_at,
            "retired_at": k.retired_at,
        }
        for k in selectors.evaluator_keys()
    ]


# ----------------------------------------------------------------------------- transparency log


class InclusionOut(Schema):
    leaf_index: int
    tree_size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyOut(Schema):
    first: int
    second: int
    proof: list[str]


class CosignatureIn(Schema):
    cosignature: str = Field(max_length=65536)
    witness_key: str = Field(max_length=300)


class CosignatureOut(Schema):
    witness: str
    tree_size: int
    root_hash: str
    signed_at: datetime


class LedgerStatusOut(Schema):
    holds: bool
    entries: int
    signed_tree_size: int | None
    problems: list[str]


def _text(body: str) -> HttpResponse:
    return HttpResponse(body.encode("utf-8"), content_type="text/plain; charset=utf-8")


@router.get("/ledger/checkpoint", response={200: None, **ERRORS}, tags=["ledger"])
def ledger_checkpoint(request: HttpRequest) -> HttpResponse:
    """The newest signed tree head (C2SP checkpoint, signed note) with the witnesses'
    cosignatures; what ``utfall witness`` checks."""
    from utfall.platform.settlements.transparency import log_checkpoint, log_checkpoint_note

    return _text(log_checkpoint_note(log_checkpoint()))


@router.get("/ledger/key", response={200: None, **ERRORS}, tags=["ledger"])
def ledger_key(request: HttpRequest) -> HttpResponse:
    """The log's public key as a note verifier key (``NAME+KEYHASH+KEY``): pin it."""
    from utfall.platform.settlements.transparency import log_verifier_key

    return _text(log_verifier_key() + "\n")


@router.get("/ledger/proof/inclusion", response={200: InclusionOut, **ERRORS}, tags=["ledger"])
def ledger_inclusion(request: HttpRequest, sequence: int, size: int | None = None) -> Any:
    """The RFC 9162 inclusion proof of ledger entry ``sequence`` in the signed tree head of
    ``size`` entries (the newest when not given); hashes in base64."""
    from utfall.platform.settlements.transparency import log_inclusion

    return log_inclusion(sequence=sequence, size=size)


@router.get("/ledger/proof/consistency", response={200: ConsistencyOut, **ERRORS}, tags=["ledger"])
def ledger_consistency(request: HttpRequest, first: int, second: int) -> Any:
    """The RFC 9162 consistency proof that the tree of ``first`` entries is a prefix of the
    tree of ``second`` entries; hashes in base64."""
    from utfall.platform.settlements.transparency import log_consistency

    return log_consistency(first=first, second=second)


@router.post("/ledger/cosignatures", response={201: CosignatureOut, **ERRORS}, tags=["ledger"])
def ledger_cosign(request: HttpRequest, body: CosignatureIn) -> Status:
    """A witness's cosignature of a signed tree head (the checkpoint note with the witness's
    c2sp.org/tlog-cosignature line), checked and stored; served with the head from then on."""
    from utfall.platform.settlements.transparency import log_cosignature_accept

    record = log_cosignature_accept(
        cosignature=body.cosignature, witness_key=body.witness_key, actor=request.user
    )
    return Status(
        201,
        {
            "witness": record.name,
            "tree_size": record.checkpoint.size,
            "root_hash": record.checkpoint.root_hash,
            "signed_at": record.signed_at,
        },
    )


@router.get("/ledger/status", response={200: LedgerStatusOut, **ERRORS}, tags=["ledger"])
def ledger_status_endpoint(request: HttpRequest) -> Any:
    """Whether the stored ledger holds: its chain and its newest signed tree head."""
    return selectors.ledger_status()
