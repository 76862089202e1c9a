"""The contract commands through the console script's entry point (``tests/cli/conftest.py``);
the first two through the installed script in a process of its own."""

import json

import pytest

NORRKOPING = "examples/contracts/norrkoping-placed-children.yaml"
FACTS = "examples/facts/norrkoping-placed-children.yaml"


def test_validate_ok(utfall_script):
    result = utfall_script("contract", "validate", NORRKOPING)
    assert result.returncode == 0, result.stderr
    assert "norrkoping-placed-children v1.1" in result.stdout


def test_validate_lists_every_problem_and_exits_2(utfall, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: bad\ntitle: Bad\nversion: '1'\nparties:\n  - {id: a, name: A, role: commissioner}\n"
        "  - {id: b, name: B, role: financier}\ninputs:\n  s: {type: money}\n"
        "outputs:\n  x: {type: money, formula: 's * shre'}\n  y: 'if s then 1 else 0'\n"
        "payments:\n  - {id: p, from: a, to: c, label: P, amount: x}\n",
        encoding="utf-8",
    )
    result = utfall("contract", "validate", bad, "--json")
    assert result.returncode == 2
    (report,) = json.loads(result.stdout)
    assert report["valid"] is False
    messages = [f["message"] for f in report["findings"]]
    assert any("unknown name 'shre'" in m for m in messages)
    assert any("the condition after 'if' must be true or false" in m for m in messages)
    assert any("unknown party 'c'" in m for m in messages)
    lines = {f["path"]: f["line"] for f in report["findings"]}
    assert lines["payments[0].to"] == 13


def test_validate_missing_file_exits_2(utfall_script, tmp_path):
    result = utfall_script("contract", "validate", tmp_path / "nope.yaml")
    assert result.returncode == 2
    assert "no such contract file" in result.stdout + result.stderr


def test_contract_test_passes_and_fails(utfall, tmp_path, root):
    ok = utfall("contract", "test", NORRKOPING)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "26 of 26 case(s) passed" in ok.stdout
    broken = tmp_path / "broken.yaml"
    text = (root / NORRKOPING).read_text(encoding="utf-8")
    broken.write_text(
        text.replace(
            'premium_sek: "1000000.00", total_paid_to_financier_sek: "11000000.00"',
            'premium_sek: "1000000.01", total_paid_to_financier_sek: "11000000.00"',
            1,
        ),
        encoding="utf-8",
    )
    failed = utfall("contract", "test", broken, "--json")
    assert failed.returncode == 1
    cases = json.loads(failed.stdout)[0]["cases"]
    bad = [c for c in cases if not c["passed"]]
    assert len(bad) == 1
    assert bad[0]["mismatches"] == ["output premium_sek: expected 1000000.01, got 1000000.00"]


def test_schema_is_json_schema(utfall):
    result = utfall("contract", "schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "ContractDocument"
    assert "parties" in schema["required"]


def test_show_renders_plain_language(utfall):
    result = utfall("contract", "show", NORRKOPING, "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert "the smaller of invested sek and invested cap sek" in result.stdout


@pytest.mark.parametrize(
    ("reading", "savings", "repayment", "premium"),
    [
        ("A", "3000000", "4000000.00", "0.00"),
        ("B", "3000000", "7000000.00", "0.00"),
        ("A", "11500000", "10000000.00", "1500000.00"),
        ("B", "11500000", "10000000.00", "1500000.00"),
    ],
)
def test_settle_json_for_both_readings(utfall, tmp_path, reading, savings, repayment, premium):
    facts = tmp_path / "facts.json"
    facts.write_text(
        json.dumps(
            {
                "invested_sek": 10000000,
                "net_savings_sek": savings,
                "school_results_met": True,
                "school_did_met": True,
                "delivered_as_agreed": True,
            }
        )
    )
    result = utfall(
        "settle", NORRKOPING, "--facts", facts, "--param", f"reading={reading}", "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["contract"] == "norrkoping-placed-children"
    assert data["parameters"]["reading"] == reading
    assert data["parameters"]["guarantee_share"] == "0.4"
    assert data["outputs"]["repayment_sek"] == repayment
    assert data["outputs"]["premium_sek"] == premium
    assert data["outputs"]["guaranteed_sek"] == "4000000.00"
    assert data["inputs"]["delivered_as_agreed"] is True
    assert data["outputs"]["school_results_met_flag"] is True
    assert data["payments"] == [
        {
            "id": "repayment",
            "from": "norrkoping",
            "to": "lsv",
            "label": "Återbetalning (garanti och besparingsdel)",
            "amount_sek": repayment,
        },
        {
            "id": "premium",
            "from": "norrkoping",
            "to": "lsv",
            "label": "Premie",
            "amount_sek": premium,
        },
    ]


def test_settle_explain_prints_the_tree(utfall):
    result = utfall("settle", NORRKOPING, "--facts", FACTS, "--explain")
    assert result.returncode == 0, result.stderr
    assert "premium_sek = 850000.00" in result.stdout
    assert 'if reading == "A" → false' in result.stdout
    data = json.loads(utfall("settle", NORRKOPING, "--facts", FACTS, "--explain", "--json").stdout)
    premium = data["explanation"]["premium"]
    assert premium["value"] == "850000.00"
    assert premium["children"][0]["name"] == "premium_sek"


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        (
            {"invested_sek": 10000000, "net_savings_sek": 0},
            "delivered_as_agreed: input is missing (expected boolean)",
        ),
        (
            {
                "invested_sek": "ten",
                "net_savings_sek": 0,
                "school_results_met": True,
                "school_did_met": True,
                "delivered_as_agreed": True,
            },
            "invested_sek: input: expected money, got 'ten'",
        ),
        (
            {
                "invested_sek": -1,
                "net_savings_sek": 0,
                "school_results_met": True,
                "school_did_met": True,
                "delivered_as_agreed": True,
            },
            "invested_sek: input: -1 is below the minimum 0",
        ),
        (
            {
                "invested_sek": 1,
                "net_savings_sek": 0,
                "school_results_met": True,
                "school_did_met": True,
                "delivered_as_agreed": "maybe",
            },
            "delivered_as_agreed: input: expected true or false",
        ),
        (
            {
                "invested_sek": 1,
                "net_savings_sek": 0,
                "school_results_met": True,
                "school_did_met": True,
                "delivered_as_agreed": True,
                "extra": 1,
            },
            "extra: unknown input",
        ),
    ],
)
def test_bad_facts_exit_2_naming_the_input(utfall, tmp_path, facts, message):
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts))
    result = utfall("settle", NORRKOPING, "--facts", path)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())


def test_bad_parameter_override_exits_2(utfall):
    result = utfall("settle", NORRKOPING, "--facts", FACTS, "--param", "reading=C")
    assert result.returncode == 2
    assert "reading: parameter: expected one of A, B, got 'C'" in " ".join(result.stderr.split())


def test_unreadable_facts_exit_2(utfall, tmp_path):
    path = tmp_path / "facts.yaml"
    path.write_bytes(b"invested_sek: [1, 2\n")
    result = utfall("settle", NORRKOPING, "--facts", path)
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr


def test_demo_settles_every_reference_contract(utfall, root):
    result = utfall("demo")
    assert result.returncode == 0, result.stderr
    for path in sorted((root / "examples" / "contracts").glob("*.yaml")):
        assert path.stem in result.stdout or "Norrköping" in result.stdout
