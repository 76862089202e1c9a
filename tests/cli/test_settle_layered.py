"""``utfall settle`` of a layered contract (issue 17): the upstream contract is settled first
(``--upstream … --upstream-facts …``) or read from its signed bundle (``--upstream-bundle``),
and the downstream settlement names the upstream settlement it used.

Seed 004: "20% av Iris Hadars ersättning avhängig förbättrade skolutfall" (the tutoring
provider contract) and "Ett internt utfallskontrakt och ett utfallsbaserat
leverantörskontrakt bidrar till ökad kontroll" (the internal HR contract).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from utfall.adapters.files import contract_read, facts_read
from utfall.core.ledger import canonical_sha256
from utfall.services.bundles import settlement_document
from utfall.services.contracts import contract_settle

CONTRACTS = "examples/contracts"
FACTS = "examples/facts"
TUTORING = f"{CONTRACTS}/norrkoping-tutoring-provider.yaml"
NORRKOPING = f"{CONTRACTS}/norrkoping-placed-children.yaml"
TUTORING_FACTS = ("--facts", f"{FACTS}/norrkoping-tutoring-provider.yaml")
WITH_NORRKOPING = (
    "--upstream",
    NORRKOPING,
    "--upstream-facts",
    f"{FACTS}/norrkoping-placed-children.yaml",
)


def _upstream_sha(root, name: str) -> str:
    contract = contract_read(root / CONTRACTS / f"{name}.yaml")
    run = contract_settle(contract, facts=facts_read(root / FACTS / f"{name}.yaml"))
    return canonical_sha256(settlement_document(run.settlement))


def _json(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_its_upstream_a_layered_contract_exits_2_naming_what_is_missing(utfall):
    result = utfall("settle", TUTORING, *TUTORING_FACTS)
    assert result.returncode == 2
    error = " ".join(result.stderr.split())
    assert "school_results_improved" in error
    assert "norrkoping-placed-children output school_results_met_flag" in error
    assert "--upstream CONTRACT.yaml --upstream-facts FACTS.yaml" in error


@pytest.mark.parametrize(
    "args, message",
    [
        (["--upstream", NORRKOPING], "give each upstream contract its facts"),
        (["--upstream-facts", f"{FACTS}/norrkoping-placed-children.yaml"], "give each upstream"),
    ],
)
def test_upstream_contracts_and_their_facts_go_in_pairs(utfall, args, message):
    result = utfall("settle", TUTORING, *TUTORING_FACTS, *args)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())


def test_a_value_from_another_contract_is_not_typed_into_the_facts(utfall, tmp_path):
    facts = tmp_path / "facts.yaml"
    facts.write_text("tutoring_delivered: true\nschool_results_improved: true\n")
    result = utfall(
        "settle",
        TUTORING,
        "--facts",
        facts,
        *WITH_NORRKOPING,
    )
    assert result.returncode == 2
    assert "taken from that contract's settlement" in " ".join(result.stderr.split())


def test_the_tutoring_fee_follows_the_outcome_contracts_school_results(utfall, root):
    """Seed 004: 20 % of the tutoring firm's pay contingent on improved school results; the
    Norrköping example facts have the school results met, so the whole fee is paid, and
    the downstream explanation names the upstream settlement by its SHA-256."""
    data = _json(
        utfall(
            "settle",
            TUTORING,
            *TUTORING_FACTS,
            *WITH_NORRKOPING,
            "--json",
            "--explain",
        )
    )
    sha = _upstream_sha(root, "norrkoping-placed-children")
    assert data["inputs"]["school_results_improved"] is True
    assert {p["id"]: p["amount_sek"] for p in data["payments"]} == {
        "fixed": "1920000.00",
        "contingent": "480000.00",
    }
    (upstream,) = data["upstream"]
    assert upstream["contract"] == "norrkoping-placed-children"
    assert upstream["settlement_sha256"] == sha
    assert upstream["used_by"] == [
        {
            "contract": "norrkoping-tutoring-provider",
            "input": "school_results_improved",
            "upstream_kind": "output",
            "upstream_name": "school_results_met_flag",
            "value": True,
        }
    ]
    text = json.dumps(data["explanation"]["contingent"])
    assert (
        f"from contract norrkoping-placed-children output school_results_met_flag, settlement {sha}"
        in text
    )

    readable = utfall(
        "settle",
        TUTORING,
        *TUTORING_FACTS,
        *WITH_NORRKOPING,
        "--explain",
    )
    assert readable.returncode == 0, readable.stderr
    out = " ".join(readable.stdout.split())
    assert f"settlement {sha}" in out
    assert "used by contract norrkoping-tutoring-provider input school_results_improved" in out


def test_the_internal_hr_contract_takes_the_supplier_contracts_figures(utfall, root):
    """Seed 004: the internal outcome contract (HR as project owner towards the municipal
    leadership) beside the supplier contract; its outcome part follows the supplier
    contract's reduction and saving, as that contract settles them on its example facts."""
    supplier = _json(
        utfall(
            "settle",
            f"{CONTRACTS}/sick-leave-botkyrka.yaml",
            "--facts",
            f"{FACTS}/sick-leave-botkyrka.yaml",
            "--json",
        )
    )
    data = _json(
        utfall(
            "settle",
            f"{CONTRACTS}/sick-leave-internal-hr.yaml",
            "--facts",
            f"{FACTS}/sick-leave-internal-hr.yaml",
            "--upstream",
            f"{CONTRACTS}/sick-leave-botkyrka.yaml",
            "--upstream-facts",
            f"{FACTS}/sick-leave-botkyrka.yaml",
            "--json",
        )
    )
    kept = Decimal(supplier["outputs"]["saving_kept_sek"])
    reduction = Decimal(supplier["outputs"]["reduction_days"])
    assert Decimal(data["inputs"]["saving_kept_sek"]) == kept
    assert Decimal(data["inputs"]["reduction_days"]) == reduction
    expected = (
        min(Decimal("2000000.00"), max(kept, Decimal(0))) if reduction >= Decimal("0.5") else 0
    )
    assert Decimal(data["outputs"]["outcome_allocation_sek"]) == expected
    assert data["upstream"][0]["settlement_sha256"] == _upstream_sha(root, "sick-leave-botkyrka")


def test_a_signed_upstream_bundle_serves_and_the_downstream_bundle_verifies(utfall, tmp_path, root):
    keys = tmp_path / "keys"
    assert utfall("keygen", "--out", keys).returncode == 0
    up = tmp_path / "upstream.json"
    signed = utfall(
        "settle",
        NORRKOPING,
        "--facts",
        f"{FACTS}/norrkoping-placed-children.yaml",
        "--sign",
        keys / "private.pem",
        "--bundle",
        up,
    )
    assert signed.returncode == 0, signed.stderr
    down = tmp_path / "downstream.json"
    data = _json(
        utfall(
            "settle",
            TUTORING,
            *TUTORING_FACTS,
            "--upstream-bundle",
            up,
            "--sign",
            keys / "private.pem",
            "--bundle",
            down,
            "--json",
        )
    )
    statement = json.loads(up.read_text(encoding="utf-8"))["statement"]
    assert data["upstream"][0]["settlement_sha256"] == statement["parts"]["settlement"]
    assert data["upstream"][0]["source"] == str(up)
    verified = utfall("verify", down)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    bundle = json.loads(down.read_text(encoding="utf-8"))
    assert statement["parts"]["settlement"] in bundle["facts"]["text"]  # the link is signed

    tampered = json.loads(up.read_text(encoding="utf-8"))
    tampered["settlement"]["outputs"]["school_results_met_flag"] = False
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered), encoding="utf-8")
    refused = utfall(
        "settle",
        TUTORING,
        *TUTORING_FACTS,
        "--upstream-bundle",
        bad,
    )
    assert refused.returncode == 2
    assert "utfall verify" in refused.stderr


def test_contracts_validated_together_check_their_links(utfall, tmp_path):
    """A link to an output the upstream contract does not have is a problem naming the
    field, when the two contracts are validated (or settled) together."""
    text = (Path(__file__).parents[2] / TUTORING).read_text(encoding="utf-8")
    bad = tmp_path / "tutoring.yaml"
    bad.write_text(text.replace("output: school_results_met_flag", "output: school_flag"))
    alone = utfall("contract", "validate", bad)
    assert alone.returncode == 0, alone.stdout  # alone, its upstream cannot be checked
    together = utfall("contract", "validate", bad, NORRKOPING)
    assert together.returncode == 2
    out = " ".join(together.stdout.split())
    assert "inputs.school_results_improved.from_contract.output" in out
    assert "has no output 'school_flag'" in out
    settled = utfall(
        "settle",
        bad,
        *TUTORING_FACTS,
        *WITH_NORRKOPING,
    )
    assert settled.returncode == 2
    assert "has no output 'school_flag'" in " ".join(settled.stderr.split())
