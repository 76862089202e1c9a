"""The permission matrix: every role × every action, allowed and denied, through the services.

EXPECTED is written out by hand from the issue ("only the evaluator signs off" …)
and checked against both the rule table and the real service/selector calls, so a
change to either shows up. Who may import a table is the contract's term (its
``import:`` roles): checked for every declared table of two contracts, one of them a
contract nobody's code knows.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from platform_helpers import UNKNOWN_CONTRACT, upload

from utfall.platform.contracts.models import Contract, Role
from utfall.platform.permissions import RULES, Action, can, user_requires_two_factor

C, F, P, N, E = "commissioner", "financier", "provider", "intermediary", "evaluator"
EXPECTED: dict[str, set[str]] = {
    "view_contract": {C, F, P, N, E},
    "upload_contract_version": {C},
    "put_contract_in_force": {C},
    "manage_parties": {C},
    "view_participants": {C, P, N, E},
    "view_imports": {C, P, N, E},
    "view_audit": {C, F, P, N, E},
    "view_settlements": {C, F, P, N, E},
    "prepare_settlement": {E},
    "sign_settlement": {E},
    "comment_settlement": {C, F, P, N, E},
    # Every role as far as the platform goes; the contract's council.individual_status term
    # narrows it (the world's Norrköping lists every role; test_individual_status_term).
    "view_individual_status": {C, F, P, N, E},
    "record_council_meeting": {C, N},
}


def test_expected_covers_every_action_and_matches_the_rules():
    assert set(EXPECTED) == {action.value for action in Action}
    for action in Action:
        assert {role.value for role in RULES[action]} == EXPECTED[action.value], action


def _attempt(action: str, world, user) -> None:
    """Take the action through the real service or selector."""
    from utfall.platform.audit.selectors import audit_events_for_contract
    from utfall.platform.contracts import selectors, services
    from utfall.platform.imports.selectors import import_batch_list
    from utfall.platform.organisations.services import organisation_create
    from utfall.platform.participants.selectors import participant_page

    contract = world.contract
    if action == "view_contract":
        selectors.contract_get(user=user, identifier=contract.identifier)
    elif action == "upload_contract_version":
        text = contract.versions.get(number=1).text + "\n# amended\n"
        services.contract_version_upload(
            contract=contract, text=text, actor=user, file_name="v2.yaml"
        )
    elif action == "put_contract_in_force":
        services.contract_put_in_force(contract=contract, actor=user)
    elif action == "manage_parties":
        services.contract_party_invite(
            contract=contract,
            organisation=organisation_create(name="New org", actor=None),
            role=Role.PROVIDER,
            actor=user,
        )
    elif action == "view_participants":
        participant_page(user=user, contract=contract)
    elif action == "view_imports":
        list(import_batch_list(user=user, contract=contract))
    elif action == "view_audit":
        list(audit_events_for_contract(user=user, contract=contract))
    elif action == "view_settlements":
        list(selectors.settlement_list(user=user, contract=contract))
    elif action in ("prepare_settlement", "sign_settlement", "comment_settlement"):
        _attempt_settlement(action, world, user)
    elif action in ("view_individual_status", "record_council_meeting"):
        _attempt_council(action, world, user)
    else:  # pragma: no cover - EXPECTED and Action are checked to agree above
        raise AssertionError(action)


def _attempt_settlement(action: str, world, user) -> None:
    """Through the settlement services. The world has no stored rows, so an allowed start
    stops at the missing data (after the permission check), and an allowed sign-off at the
    wrong two-factor code."""
    import datetime as dt

    from utfall.errors import UserError
    from utfall.platform.contracts.models import Settlement, SettlementStatus
    from utfall.platform.settlements import services

    contract = world.contract
    if action == "prepare_settlement":
        with pytest.raises(UserError, match="no imported data"):
            services.settlement_start(
                contract=contract,
                actor=user,
                period_start=dt.date(2016, 1, 1),
                period_end=dt.date(2021, 12, 31),
            )
        return
    statement = Settlement.objects.create(
        contract=contract,
        version=contract.versions.get(number=1),
        facts={},
        result={},
        sha256="0" * 64,
        created_by=world.users[Role.EVALUATOR],
        status=SettlementStatus.REVIEW,
        period_start=dt.date(2016, 1, 1),
        period_end=dt.date(2021, 12, 31),
    )
    if action == "comment_settlement":
        services.settlement_comment(settlement=statement, actor=user, text="Looks right.")
    else:
        with pytest.raises(UserError, match="two-factor"):
            services.settlement_sign(settlement=statement, actor=user, totp_code="000000")


def _attempt_council(action: str, world, user) -> None:
    """Through the council selector and service (the world has no data: an empty dashboard)."""
    import datetime as dt

    from utfall.platform.council import selectors as council_selectors
    from utfall.platform.council import services as council_services

    if action == "view_individual_status":
        council_selectors.individual_status(user=user, contract=world.contract)
    else:
        council_services.meeting_record(
            contract=world.contract,
            actor=user,
            held_on=dt.date(2017, 3, 1),
            as_of=dt.date(2017, 2, 28),
            title="Insatsråd",
            agenda="",
        )


@pytest.mark.django_db
@pytest.mark.parametrize("role", [role.value for role in Role])
@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_matrix(world, role, action):
    user = world.users[Role(role)]
    allowed = role in EXPECTED[action]
    assert can(user, Action(action), world.contract) is allowed
    if allowed:
        _attempt(action, world, user)
    else:
        with pytest.raises(PermissionDenied):
            _attempt(action, world, user)


@pytest.mark.django_db
@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_outsider_is_denied_everything(world, action):
    assert not can(world.outsider, Action(action), world.contract)
    with pytest.raises((PermissionDenied, Contract.DoesNotExist)):
        _attempt(action, world, world.outsider)


@pytest.mark.django_db
def test_two_factor_is_required_for_evaluators_and_administrators(world, make_user):
    assert user_requires_two_factor(world.users[Role.EVALUATOR])
    assert not user_requires_two_factor(world.users[Role.COMMISSIONER])
    assert not user_requires_two_factor(world.outsider)
    assert user_requires_two_factor(make_user("root", staff=True))


def _declared_imports(world, contract):
    """(table, role, allowed, a file the table takes) for every declared table and role."""
    from utfall.platform.contracts.selectors import latest_version, parsed_version
    from utfall.platform.imports.templates import template_csv

    declaration = parsed_version(latest_version(contract)).data
    for table in declaration:
        content = template_csv(declaration, table, language="sv") + b"\r\n"
        for role in Role:
            yield table.name, role, role.value in table.import_roles, content


@pytest.mark.django_db
def test_each_declared_table_is_imported_by_its_declared_roles_only(world):
    from utfall.platform.contracts.services import contract_create, contract_party_set
    from utfall.platform.imports.services import import_upload
    from utfall.platform.permissions import can_import

    other = contract_create(
        text=UNKNOWN_CONTRACT,
        organisation=world.organisations[Role.COMMISSIONER],
        actor=world.users[Role.COMMISSIONER],
        file_name="unknown.yaml",
    )
    for role in Role:
        if role != Role.COMMISSIONER:
            contract_party_set(
                contract=other,
                organisation=world.organisations[role],
                role=role,
                actor=world.users[Role.COMMISSIONER],
                accepted_by=world.users[role],
                approved_by=[world.users[Role.FINANCIER]],
            )
    checked = 0
    for contract in (world.contract, other):
        for table, role, allowed, content in _declared_imports(world, contract):
            user = world.users[role]
            from utfall.platform.imports.services import import_target

            assert can_import(user, contract, import_target(contract, table).table) is allowed
            if allowed:
                # Allowed: refused only for the file (a template's header and no rows).
                from utfall.errors import DataInvalid

                with pytest.raises(DataInvalid, match="no data rows"):
                    import_upload(
                        contract=contract,
                        table=table,
                        uploaded=upload(f"{table}.csv", content),
                        actor=user,
                    )
            else:
                with pytest.raises(PermissionDenied, match="declared import roles"):
                    import_upload(
                        contract=contract,
                        table=table,
                        uploaded=upload(f"{table}.csv", content),
                        actor=user,
                    )
            checked += 1
        with pytest.raises(PermissionDenied):
            import_upload(
                contract=contract,
                table="participants",
                uploaded=upload("p.csv", "a,b\n1,2\n"),
                actor=world.outsider,
            )
    assert checked == 5 * (9 + 2)  # the reference contract declares 9 tables (participants too)
