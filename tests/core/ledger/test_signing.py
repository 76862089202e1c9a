"""Ed25519 signatures and the signed statement."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from utfall.core.ledger import (
    SIGNING_CONTEXT,
    Statement,
    StatementPayment,
    b64decode_strict,
    b64encode,
    canonical_json,
    key_fingerprint,
    private_key_from_pem,
    public_key_from_pem,
    public_key_pem,
    public_key_raw,
    sign_message,
    statement_from_dict,
    verify_message,
)

# RFC 8032 §7.1, TEST 2: a known private key, message and signature.
RFC8032_SECRET = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
RFC8032_PUBLIC = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
RFC8032_MESSAGE = bytes.fromhex("72")
RFC8032_SIGNATURE = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_rfc8032_test_vector():
    key = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET)
    assert public_key_raw(key) == RFC8032_PUBLIC
    assert sign_message(key, RFC8032_MESSAGE) == RFC8032_SIGNATURE
    assert verify_message(RFC8032_PUBLIC, RFC8032_MESSAGE, RFC8032_SIGNATURE)
    assert not verify_message(RFC8032_PUBLIC, b"\x73", RFC8032_SIGNATURE)
    bent = bytes([RFC8032_SIGNATURE[0] ^ 1]) + RFC8032_SIGNATURE[1:]
    assert not verify_message(RFC8032_PUBLIC, RFC8032_MESSAGE, bent)


def test_pem_round_trip_and_wrong_key_types():
    key = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert public_key_raw(private_key_from_pem(pem)) == RFC8032_PUBLIC
    assert public_key_from_pem(public_key_pem(RFC8032_PUBLIC)) == RFC8032_PUBLIC
    assert key_fingerprint(RFC8032_PUBLIC) == hashlib.sha256(RFC8032_PUBLIC).hexdigest()
    with pytest.raises(ValueError, match="not a PEM public key"):
        public_key_from_pem(b"-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n")
    with pytest.raises(ValueError, match="not an unencrypted PEM private key"):
        private_key_from_pem(public_key_pem(RFC8032_PUBLIC))


def test_base64_must_be_canonical():
    data = bytes(range(64))
    text = b64encode(data)
    assert b64decode_strict(text) == data
    # The last character before '==' carries 4 unused bits: a lax decoder reads
    # 'A' and 'B' there as the same bytes. The strict one refuses the second form.
    assert text.endswith("==")
    alias = text[:-3] + chr(ord(text[-3]) + 1) + "=="
    assert base64.b64decode(alias) == data
    with pytest.raises(ValueError, match="canonical"):
        b64decode_strict(alias)
    with pytest.raises(ValueError, match="not valid base64"):
        b64decode_strict("a b")


def statement() -> Statement:
    return Statement(
        contract_id="norrkoping-placed-children",
        contract_version="1.0",
        contract_sha256=sha("contract"),
        payments=(
            StatementPayment("repayment", "norrkoping", "lsv", "Återbetalning", Decimal("1E7")),
            StatementPayment("premium", "norrkoping", "lsv", "Premie", Decimal("850000")),
        ),
        parts={"contract": sha("a"), "settlement": sha("b")},
        ledger_head=sha("head"),
        evaluator="evaluator",
        signer_key_sha256=key_fingerprint(RFC8032_PUBLIC),
        signed_at=datetime(2022, 1, 10, 9, 30, tzinfo=UTC),
    )


def test_statement_signing_message_and_round_trip():
    made = statement()
    message = made.signing_message()
    assert message.startswith(SIGNING_CONTEXT)
    assert message[len(SIGNING_CONTEXT) :] == canonical_json(made.as_dict())
    assert made.as_dict()["payments"][0]["amount_sek"] == "10000000.00"
    assert statement_from_dict(made.as_dict()) == made
    key = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET)
    signature = sign_message(key, message)
    assert verify_message(RFC8032_PUBLIC, message, signature)
    # The same statement without the context line is a different message.
    assert not verify_message(RFC8032_PUBLIC, message[len(SIGNING_CONTEXT) :], signature)


def test_statement_from_dict_is_strict():
    good = statement().as_dict()
    for change, message in (
        ({"format": "other/1"}, "format must be"),
        ({"ledger_head": "abc"}, "ledger_head must be 64"),
        ({"payments": [{"id": "x"}]}, r"payments\[0\] must have"),
        ({"signed_at": "2022-01-10"}, "not a ledger time"),
        ({"parts": {"contract": "zz"}}, "parts must map"),
        ({"surprise": True}, "unknown field"),
    ):
        with pytest.raises(ValueError, match=message):
            statement_from_dict({**good, **change})
    bad_amount = {**good, "payments": [{**good["payments"][0], "amount_sek": "1.5"}]}
    with pytest.raises(ValueError, match="not money"):
        statement_from_dict(bad_amount)
