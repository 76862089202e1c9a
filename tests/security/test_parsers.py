"""Parsers under attack (issue 14, critical item 5 and the 500s): each test replays one attack
against the real code, in the CLI and on the platform.

Hostile YAML (billion laughs with 7 and 9 levels, a 5,000-deep list, a finance plan with
aliases) and a 20,000-term formula are refused fast with a located message naming the
limit, exit 2 in the CLI, a readable refusal on upload; nothing is stored. Malformed or
unknown ids are 404, never 500; ``?lang=`` cannot reach a header; every API error, ninja's
validation errors included, has the ``{message, detail, findings}`` shape.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NORRKOPING_PLAN = ROOT / "examples" / "finance" / "norrkoping-plan.yaml"

# Generous bounds for a slow 2-core test machine; the attacks took 9.6 s, 100 s or all the
# memory there is.
FAST_SECONDS = 5.0

MINIMAL = """\
id: tiny
title: Tiny
version: "1"
parties:
  - {id: town, name: Town, role: commissioner}
  - {id: fund, name: Fund, role: financier}
parameters:
  share: {type: ratio, default: 0.5, min: 0, max: 1}
inputs:
  saved: {type: money}
outputs:
  paid:
    type: money
    formula: round(max(saved, 0) * share)
payments:
  - {id: pay, from: town, to: fund, label: Pay, amount: paid}
"""


def billion_laughs(levels: int) -> str:
    """Anchors nine times wider at each level: 9**levels strings from a few hundred bytes."""
    lines = ["lols:", '  l0: &l0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\nassumptions: *l{levels}\n"


def laughing_contract(levels: int) -> str:
    return MINIMAL + billion_laughs(levels)


def deep_list_contract(depth: int = 5_000) -> str:
    return MINIMAL + "sources: " + "[" * depth + "]" * depth + "\n"


def long_formula_contract(terms: int = 20_000) -> str:
    formula = "round(" + " + ".join(["saved"] * terms) + ")"
    return MINIMAL.replace("round(max(saved, 0) * share)", formula)


def deep_formula_contract(terms: int = 600) -> str:
    # Within the length limit (3,600 characters), and deep enough to have overflowed the
    # recursive tree walk.
    formula = "round(" + "+".join(["saved"] * terms) + ")"
    return MINIMAL.replace("round(max(saved, 0) * share)", formula)


def with_second_factor(user):
    """Evaluators must have TOTP set up before any page opens."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(user, generate_totp_secret())
    return user


def laughing_plan(levels: int = 9) -> str:
    return NORRKOPING_PLAN.read_text(encoding="utf-8") + billion_laughs(levels).replace(
        "assumptions:", "notes:"
    )


HOSTILE_CONTRACTS = {
    "billion-laughs-7": (laughing_contract(7), "yaml-alias", "aliases"),
    "billion-laughs-9": (laughing_contract(9), "yaml-alias", "aliases"),
    "list-5000-deep": (deep_list_contract(), "yaml-too-deep", "MAX_YAML_DEPTH"),
    "formula-20000-terms": (long_formula_contract(), "formula", "MAX_FORMULA_LENGTH"),
    "formula-600-deep": (deep_formula_contract(), "formula", "MAX_FORMULA_DEPTH"),
}


# --- the CLI: exit 2 with the limit named, never a traceback ---------------------------------


def _utfall(*args: str | Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("utfall")
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [str(script), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.parametrize("name", sorted(HOSTILE_CONTRACTS))
def test_hostile_contract_in_contract_validate_exits_2_naming_the_limit(name, tmp_path):
    text, _code, limit = HOSTILE_CONTRACTS[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    result = _utfall("contract", "validate", path)
    assert time.monotonic() - started < 30  # the interpreter's start-up included
    assert result.returncode == 2, result.stderr
    output = " ".join((result.stdout + result.stderr).split())
    assert "Traceback" not in output and "RecursionError" not in output
    assert limit in output
    assert f"{path}:" in output  # the file, with its line


def test_finance_plan_with_aliases_in_cashflows_exits_2(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(laughing_plan(9), encoding="utf-8")
    result = _utfall(
        "cashflows",
        "examples/contracts/norrkoping-placed-children.yaml",
        "--plan",
        plan,
        "--facts",
        "examples/facts/norrkoping-placed-children.yaml",
    )
    assert result.returncode == 2, result.stderr
    output = " ".join((result.stdout + result.stderr).split())
    assert "Traceback" not in output
    assert "aliases" in output and "plan.yaml" in output


@pytest.mark.parametrize("command", ["settle", "knowledge"])
def test_json_nested_100000_deep_exits_2_without_a_traceback(command, tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "deep.json"
    if command == "settle":
        path.write_text('{"invested_sek": ' + deep + "}", encoding="utf-8")
        args = ("settle", "examples/contracts/norrkoping-placed-children.yaml", "--facts", path)
    else:
        path.write_text(deep, encoding="utf-8")
        args = ("knowledge", "validate", path)
    result = _utfall(*args)
    assert result.returncode == 2, result.stderr
    output = " ".join((result.stdout + result.stderr).split())
    assert "Traceback" not in output and "nested too deeply" in output


# --- the core: each limit refused fast, with its finding code and line -----------------------


@pytest.mark.parametrize("name", sorted(HOSTILE_CONTRACTS))
def test_hostile_contract_is_refused_by_parse_contract_quickly(name):
    from utfall.core.contracts import parse_contract
    from utfall.errors import ContractInvalid

    text, code, limit = HOSTILE_CONTRACTS[name]
    started = time.monotonic()
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(text, source="hostile.yaml")
    assert time.monotonic() - started < FAST_SECONDS
    (finding,) = caught.value.findings
    assert finding.code == code
    assert limit in finding.message
    assert finding.file == "hostile.yaml" and finding.line is not None


def test_yaml_over_the_size_limit_is_refused_before_parsing():
    from utfall.core.contracts.yamlio import MAX_YAML_CHARACTERS, read_yaml

    text = "a: " + "x" * MAX_YAML_CHARACTERS + "\n"
    with pytest.raises(ValueError) as caught:
        read_yaml(text, source="big.yaml", what="the facts file")
    finding = caught.value.args[0]
    assert finding.code == "yaml-too-large" and "MAX_YAML_CHARACTERS" in finding.message


def test_yaml_with_too_many_nodes_is_refused():
    from utfall.core.contracts.yamlio import MAX_YAML_NODES, read_yaml

    text = "values: [" + ", ".join(["1"] * (MAX_YAML_NODES + 1)) + "]\n"
    started = time.monotonic()
    with pytest.raises(ValueError) as caught:
        read_yaml(text, source="many.yaml")
    assert time.monotonic() - started < FAST_SECONDS
    finding = caught.value.args[0]
    assert finding.code == "yaml-too-many-nodes" and finding.line == 1
    assert "MAX_YAML_NODES" in finding.message


def test_yaml_value_python_cannot_build_is_a_located_error():
    from utfall.core.contracts.yamlio import read_yaml

    for text in ("start: 2016-02-30\n", "n: " + "9" * 5_000 + "\n", "x: 1:2:3.5\n"):
        with pytest.raises(ValueError) as caught:
            read_yaml(text, source="odd.yaml")
        finding = caught.value.args[0]
        assert finding.code == "yaml-syntax" and finding.line == 1, text[:20]


def test_facts_and_evaluation_specs_use_the_bounded_loader(tmp_path):
    from utfall.adapters.files import spec_read
    from utfall.errors import FactsInvalid, SpecInvalid
    from utfall.services.contracts import facts_parse

    with pytest.raises(FactsInvalid) as caught:
        facts_parse(billion_laughs(9), source="facts.yaml")
    assert caught.value.findings[0].code == "yaml-alias"
    spec = tmp_path / "spec.yaml"
    spec.write_text(billion_laughs(9), encoding="utf-8")
    with pytest.raises(SpecInvalid, match="aliases"):
        spec_read(spec)


# --- the platform: refused on upload, nothing stored, no page hangs --------------------------


@pytest.mark.parametrize("name", sorted(HOSTILE_CONTRACTS))
def test_hostile_contract_upload_is_refused_on_the_page(name, client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from utfall.platform.contracts.models import Contract, Role

    text, _code, limit = HOSTILE_CONTRACTS[name]
    client.force_login(world.users[Role.COMMISSIONER])
    before = Contract.objects.count()
    started = time.monotonic()
    response = client.post(
        "/",
        {
            "organisation": world.organisations[Role.COMMISSIONER].pk,
            "file": SimpleUploadedFile(f"{name}.yaml", text.encode("utf-8")),
        },
    )
    assert time.monotonic() - started < FAST_SECONDS
    assert response.status_code == 200
    page = response.content.decode()
    # The limit is named; where it is, by line, not by a file path (issue 15: nothing of a
    # file system reaches a page).
    assert limit in page and "/tmp/" not in page, page[page.find("<main") :][:3000]
    assert Contract.objects.count() == before


def test_hostile_contract_upload_through_the_api_is_400_with_findings(client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from utfall.platform.contracts.models import Contract, Role
    from utfall.platform.organisations.services import api_token_create

    _record, token = api_token_create(user=world.users[Role.COMMISSIONER], name="attack")
    before = Contract.objects.count()
    for name in ("billion-laughs-9", "list-5000-deep", "formula-20000-terms"):
        text, code, limit = HOSTILE_CONTRACTS[name]
        response = client.post(
            "/api/contracts",
            {
                "organisation_id": world.organisations[Role.COMMISSIONER].pk,
                "file": SimpleUploadedFile(f"{name}.yaml", text.encode("utf-8")),
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 400, response.text
        body = response.json()
        assert set(body) == {"message", "detail", "findings"}
        assert body["findings"][0]["code"] == code and limit in body["findings"][0]["message"]
    assert Contract.objects.count() == before


def test_finance_plan_with_aliases_is_refused_on_upload(client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from utfall.platform.contracts.models import Role
    from utfall.platform.settlements.models import FinancePlan

    client.force_login(world.users[Role.FINANCIER])
    url = f"/contracts/{world.contract.identifier}/finance/"
    started = time.monotonic()
    response = client.post(
        url,
        {"plan": "1", "file": SimpleUploadedFile("plan.yaml", laughing_plan(9).encode("utf-8"))},
    )
    assert time.monotonic() - started < FAST_SECONDS
    assert response.status_code == 200
    assert "aliases" in response.text
    assert not FinancePlan.objects.filter(contract=world.contract).exists()


def test_finance_tab_with_a_stored_hostile_plan_answers_fast(client, world):
    """A plan stored before the limits existed: the tab shows the refusal, it does not hang."""
    import hashlib

    from utfall.platform.contracts.models import Role
    from utfall.platform.settlements.models import FinancePlan

    text = laughing_plan(9)
    FinancePlan.objects.create(
        contract=world.contract,
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        uploaded_by=world.users[Role.FINANCIER],
    )
    with_second_factor(world.users[Role.EVALUATOR])
    for role in (Role.FINANCIER, Role.COMMISSIONER, Role.EVALUATOR):
        client.force_login(world.users[role])
        started = time.monotonic()
        response = client.get(f"/contracts/{world.contract.identifier}/finance/")
        assert time.monotonic() - started < FAST_SECONDS
        assert response.status_code == 200
        assert "aliases" in response.text


def test_contract_version_upload_with_deep_list_is_refused(client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from utfall.platform.contracts.models import Role

    client.force_login(world.users[Role.COMMISSIONER])
    versions = world.contract.versions.count()
    response = client.post(
        f"/contracts/{world.contract.identifier}/versions/",
        {"file": SimpleUploadedFile("v2.yaml", deep_list_contract().encode("utf-8"))},
    )
    assert response.status_code == 200
    assert "MAX_YAML_DEPTH" in response.text
    assert world.contract.versions.count() == versions


def test_api_json_body_nested_100000_deep_is_answered_not_500(client, world):
    from utfall.platform.contracts.models import Role
    from utfall.platform.organisations.services import api_token_create

    _record, token = api_token_create(user=world.users[Role.COMMISSIONER], name="deep")
    deep = '{"organisation": ' + "[" * 100_000 + "]" * 100_000 + ', "role": "provider"}'
    response = client.post(
        f"/api/contracts/{world.contract.identifier}/invitations",
        deep,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"message", "detail", "findings"}


# --- 500 instead of 404 ----------------------------------------------------------------------

BAD_IDS = ["abc", "1.5", "-1", "0x10", "١٢", "²", "9" * 5_000, "999999999"]


@pytest.mark.parametrize("wanted", BAD_IDS)
def test_settlement_correct_with_a_malformed_or_unknown_id_is_404(wanted, client, world):
    from utfall.platform.contracts.models import Role

    client.force_login(with_second_factor(world.users[Role.EVALUATOR]))
    url = f"/contracts/{world.contract.identifier}/settlements/"
    assert client.get(url, {"correct": wanted}).status_code == 404
    assert client.post(url, {"supersedes": wanted}).status_code == 404


@pytest.mark.parametrize("wanted", [*BAD_IDS, ""])
def test_fund_report_id_malformed_or_unknown_is_404(wanted, client, selected):
    from utfall.platform.fund.selectors import fund_state

    client.force_login(selected.admin)
    year = fund_state(selected.fund).budget.years[0]
    url = f"/fund/constellations/{selected.constellation.pk}/"
    data = {"pay": "1", "year": year, "report_id": wanted}
    assert client.post(url, data).status_code == 404
    assert client.post(url, {"pay": "1", "year": year}).status_code == 404


@pytest.mark.parametrize("wanted", ["abc", "²", "9" * 5_000])
def test_council_meeting_id_malformed_is_404(wanted, client, world):
    from utfall.platform.contracts.models import Role

    client.force_login(world.users[Role.COMMISSIONER])
    response = client.get(f"/contracts/{world.contract.identifier}/council/", {"meeting": wanted})
    assert response.status_code == 404


@pytest.mark.parametrize("language", ['sv"; filename="evil.exe', "de", "sv\r\nX-Evil: 1", "e n"])
def test_report_pdf_lang_cannot_reach_the_content_disposition(language, client, world):
    from utfall.platform.contracts.models import Role
    from utfall.platform.council.models import CouncilMeeting

    meeting = CouncilMeeting.objects.create(
        contract=world.contract,
        held_on="2020-03-31",
        as_of="2020-03-31",
        title="Q1",
        snapshot={},
        snapshot_sha256="0" * 64,
        created_by=world.users[Role.COMMISSIONER],
    )
    client.force_login(world.users[Role.COMMISSIONER])
    url = f"/contracts/{world.contract.identifier}/council/meetings/{meeting.pk}/report.pdf"
    response = client.get(url, {"lang": language})
    assert response.status_code == 404
    assert "evil" not in response.get("Content-Disposition", "")


def test_report_filename_is_built_by_the_header_helper():
    from django.utils.http import content_disposition_header

    from utfall.platform.params import language_param

    assert language_param("en", "sv") == "en" and language_param(None, "sv") == "sv"
    assert content_disposition_header(True, 'a"b.pdf') == 'attachment; filename="a\\"b.pdf"'


# --- 422 answers in the documented shape -----------------------------------------------------


def test_api_validation_error_has_the_documented_shape(client, world):
    from utfall.platform.contracts.models import Role
    from utfall.platform.organisations.services import api_token_create

    _record, token = api_token_create(user=world.users[Role.COMMISSIONER], name="shape")
    headers = {"Authorization": f"Bearer {token}"}
    # organisation_id must be an integer and the file is missing: ninja's own 422.
    response = client.post("/api/contracts", {"organisation_id": "abc"}, headers=headers)
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"message", "detail", "findings"}
    assert body["message"].startswith("the request is not valid")
    paths = {finding["path"] for finding in body["findings"]}
    assert {"form.organisation_id", "file.file"} <= paths or len(paths) >= 2, body
    assert all(f["code"].startswith("request-") for f in body["findings"])
    assert len(body["detail"]) == len(body["findings"])


def test_api_unknown_contract_and_bad_token_have_the_documented_shape(client, world):
    from utfall.platform.contracts.models import Role
    from utfall.platform.organisations.services import api_token_create

    _record, token = api_token_create(user=world.users[Role.COMMISSIONER], name="shape")
    response = client.get("/api/contracts/no-such", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert set(response.json()) == {"message", "detail", "findings"}
    response = client.get("/api/me", headers={"Authorization": "Bearer utf_wrong"})
    assert response.status_code == 401
    assert set(response.json()) == {"message", "detail", "findings"}


def test_openapi_documents_422_as_the_error_shape(client):
    schema = client.get("/api/openapi.json").json()
    components = schema["components"]["schemas"]
    assert set(components["ErrorOut"]["required"]) == {"message", "detail", "findings"}
    for path in schema["paths"].values():
        for operation in path.values():
            answer = operation["responses"].get("422")
            if answer is not None:
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut")
