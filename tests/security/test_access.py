"""Access (issue 14): each test replays one attack against the real code.

The admin behind the platform's login, second factor and rate limits; parties only by
invitation and the evaluator only by the commissioner and financier together; API
tokens that do not carry roles granted after they were issued; a TOTP code spent once
across processes; token use written at most once a minute; 404 for junk ids.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from platform_helpers import totp_code

from utfall.platform.contracts.models import Role

PASSWORD = "pw-test-123"  # make_user's password


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth counts attempts in the cache: each test starts from none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _with_totp(user):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def admin_user(db, make_user):
    user = make_user("root", staff=True)
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    return _with_totp(user)


def _login_with_both_factors(client, user) -> None:
    response = client.post("/accounts/login/", {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302 and "/2fa/authenticate" in response["Location"]
    response = client.post(response["Location"], {"code": totp_code(user)})
    assert response.status_code == 302, response.content[:500]


# --- 1. The admin: login, second factor, rate limit ------------------------------------


@pytest.mark.django_db
def test_admin_login_with_the_password_alone_gives_no_admin_session(client, admin_user):
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    # No password form of its own: the admin's login sends to allauth's (with TOTP).
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = client.get("/admin/auth/user/add/")
    assert response.status_code == 302


@pytest.mark.django_db
def test_admin_session_with_password_only_is_sent_to_confirm_the_second_factor(client, admin_user):
    # A password-only session (e.g. logged in before TOTP was set up) is not enough.
    client.force_login(admin_user)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/2fa/reauthenticate/")
    assert b"site-name" not in response.content
    response = client.post(response.redirect_chain[-1][0], {"code": totp_code(admin_user)})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_admin_with_password_and_totp_through_the_platform_login_gets_in(client, admin_user):
    _login_with_both_factors(client, admin_user)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_thirty_wrong_admin_passwords_are_rate_limited(client, admin_user):
    limited = "För många misslyckade inloggningsförsök"
    answers = []
    for i in range(30):
        response = client.post("/accounts/login/", {"login": "root", "password": f"wrong-{i}"})
        answers.append(
            "limited"
            if response.status_code == 429 or limited in response.content.decode()
            else response.status_code
        )
    assert "limited" in answers, answers
    first = answers.index("limited")
    # allauth's default: 5 failed logins per 5 minutes and account, 10 a minute per address.
    assert first <= 10 and set(answers[first:]) == {"limited"}, answers
    # The right password is refused too while the limit holds.
    response = client.post("/accounts/login/", {"login": "root", "password": PASSWORD})
    assert response.status_code != 302
    assert "_auth_user_id" not in client.session
    # And the admin's own login URL never checks a password at all.
    for i in range(30):
        response = client.post("/admin/login/", {"username": "root", "password": f"x{i}"})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_non_staff_with_both_factors_cannot_use_the_admin(client, world):
    evaluator = _with_totp(world.users[Role.EVALUATOR])
    _login_with_both_factors(client, evaluator)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert client.get("/admin/login/").status_code == 302


@pytest.mark.django_db
def test_admin_cannot_add_an_evaluator_party_or_member(client, world, admin_user, make_user):
    from utfall.platform.organisations.models import Membership

    _login_with_both_factors(client, admin_user)
    # No contract party or invitation can be made in the admin at all.
    assert client.get("/admin/contracts/contractparty/add/").status_code == 404
    assert client.get("/admin/contracts/contractinvitation/add/").status_code == 404
    # The attack: a new user put into the evaluating organisation through the admin.
    intruder = make_user("intruder")
    evaluator_org = world.organisations[Role.EVALUATOR]
    url = f"/admin/organisations/organisation/{evaluator_org.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    existing = list(Membership.objects.filter(organisation=evaluator_org))
    data = {
        "name": evaluator_org.name,
        "organisation_number": "",
        "memberships-TOTAL_FORMS": str(len(existing) + 1),
        "memberships-INITIAL_FORMS": str(len(existing)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for index, membership in enumerate(existing):
        data[f"memberships-{index}-id"] = str(membership.pk)
        data[f"memberships-{index}-organisation"] = str(evaluator_org.pk)
        data[f"memberships-{index}-user"] = str(membership.user_id)
    new = len(existing)
    data[f"memberships-{new}-organisation"] = str(evaluator_org.pk)
    data[f"memberships-{new}-user"] = str(intruder.pk)
    client.post(url, data)
    assert not Membership.objects.filter(user=intruder).exists()
    # The service refuses it as well, whoever calls it from the admin.
    from django.core.exceptions import PermissionDenied

    from utfall.platform.organisations.services import membership_add

    with pytest.raises(PermissionDenied, match="only its own members"):
        membership_add(user=intruder, organisation=evaluator_org, actor=admin_user)
    assert not Membership.objects.filter(user=intruder).exists()


# --- 2. Parties by invitation; the evaluator appointed together -------------------------


@pytest.fixture
def own_contract(world, norrkoping_text):
    """The financier uploads a contract of his own: his organisation is its commissioner."""
    from utfall.platform.contracts.services import contract_create

    text = norrkoping_text.replace(
        "id: norrkoping-placed-children", "id: financiers-own-contract", 1
    )
    return contract_create(
        text=text,
        organisation=world.organisations[Role.FINANCIER],
        actor=world.users[Role.FINANCIER],
        file_name="own.yaml",
    )


@pytest.mark.django_db
def test_financier_cannot_make_himself_evaluator_of_his_own_contract(world, own_contract, client):
    from utfall.errors import UserError
    from utfall.platform.contracts.services import contract_party_invite
    from utfall.platform.permissions import roles_of

    financier = world.users[Role.FINANCIER]
    own = world.organisations[Role.FINANCIER]
    with pytest.raises(UserError, match="cannot be a party in another role"):
        contract_party_invite(
            contract=own_contract, organisation=own, role=Role.EVALUATOR, actor=financier
        )
    # The same through the parties page: refused with the reason, nothing changed.
    client.force_login(financier)
    response = client.post(
        f"/contracts/{own_contract.identifier}/parties/",
        {"organisation": own.pk, "role": Role.EVALUATOR.value},
    )
    assert response.status_code == 200
    assert "cannot be a party in another role" in response.content.decode()
    assert roles_of(financier, own_contract) == {Role.COMMISSIONER}
    assert not own_contract.parties.filter(role=Role.EVALUATOR).exists()


@pytest.mark.django_db
def test_commissioner_cannot_add_another_organisation_without_its_consent(
    world, own_contract, client
):
    from utfall.platform.contracts.models import InvitationStatus
    from utfall.platform.permissions import roles_of

    financier = world.users[Role.FINANCIER]
    victim_org = world.organisations[Role.COMMISSIONER]
    victim = world.users[Role.COMMISSIONER]
    client.force_login(financier)
    response = client.post(
        f"/contracts/{own_contract.identifier}/parties/",
        {"organisation": victim_org.pk, "role": Role.COMMISSIONER.value},
    )
    assert response.status_code == 302
    # Invited, not a party: the victim holds no role until one of its members accepts.
    assert roles_of(victim, own_contract) == frozenset()
    assert not own_contract.parties.filter(organisation=victim_org).exists()
    invitation = own_contract.invitations.get(organisation=victim_org)
    assert invitation.status == InvitationStatus.PENDING
    # The inviter cannot accept on the victim's behalf.
    response = client.post("/invitations/", {"accept": invitation.pk})
    assert response.status_code == 404
    assert not own_contract.parties.filter(organisation=victim_org).exists()
    # The victim declines on the invitations page.
    client.force_login(victim)
    page = client.get("/invitations/")
    assert own_contract.title in page.content.decode()
    client.post("/invitations/", {"decline": invitation.pk})
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.DECLINED
    assert not own_contract.parties.filter(organisation=victim_org).exists()


@pytest.mark.django_db
def test_evaluator_appointed_by_the_commissioner_alone_is_not_a_party(world, make_user, client):
    from django.core.exceptions import PermissionDenied

    from utfall.platform.contracts.models import InvitationStatus
    from utfall.platform.contracts.services import (
        contract_invitation_accept,
        contract_invitation_approve,
        contract_party_invite,
        contract_party_remove,
    )
    from utfall.platform.organisations.services import organisation_create

    contract = world.contract
    commissioner = world.users[Role.COMMISSIONER]
    contract_party_remove(
        contract=contract, organisation=world.organisations[Role.EVALUATOR], actor=commissioner
    )
    chosen_org = organisation_create(name="Commissioner's friend", actor=None)
    chosen = make_user("friend", chosen_org)
    invitation = contract_party_invite(
        contract=contract, organisation=chosen_org, role=Role.EVALUATOR, actor=commissioner
    )
    invitation = contract_invitation_accept(invitation=invitation, actor=chosen)
    # Accepted, approved by the commissioner, but not by the financier: no party.
    assert invitation.status == InvitationStatus.PENDING
    assert not contract.parties.filter(organisation=chosen_org).exists()
    # Others (a provider, the commissioner twice) cannot stand in for the financier.
    with pytest.raises(PermissionDenied):
        contract_invitation_approve(invitation=invitation, actor=world.users[Role.PROVIDER])
    with pytest.raises(PermissionDenied):
        contract_invitation_approve(invitation=invitation, actor=commissioner)
    # The financier approves on the parties page: now the evaluator is appointed.
    client.force_login(world.users[Role.FINANCIER])
    page = client.get(f"/contracts/{contract.identifier}/parties/")
    assert f'name="approve" value="{invitation.pk}"' in page.content.decode()
    client.post(f"/contracts/{contract.identifier}/parties/", {"approve": invitation.pk})
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert contract.parties.get(organisation=chosen_org).role == Role.EVALUATOR


@pytest.mark.django_db
def test_a_party_member_cannot_accept_the_evaluator_appointment_for_a_second_organisation(
    world, make_user
):
    from django.core.exceptions import PermissionDenied

    from utfall.platform.contracts.services import (
        contract_invitation_accept,
        contract_party_invite,
        contract_party_remove,
    )
    from utfall.platform.organisations.services import membership_add, organisation_create

    contract = world.contract
    commissioner = world.users[Role.COMMISSIONER]
    contract_party_remove(
        contract=contract, organisation=world.organisations[Role.EVALUATOR], actor=commissioner
    )
    # The commissioner's member also belongs to a second organisation.
    shell = organisation_create(name="Shell evaluator", actor=None)
    membership_add(user=commissioner, organisation=shell, actor=None)
    invitation = contract_party_invite(
        contract=contract, organisation=shell, role=Role.EVALUATOR, actor=commissioner
    )
    with pytest.raises(PermissionDenied, match="another party"):
        contract_invitation_accept(invitation=invitation, actor=commissioner)
    assert not contract.parties.filter(organisation=shell).exists()


@pytest.mark.django_db
def test_the_evaluator_cannot_take_another_role_on_the_same_contract(world):
    from utfall.errors import UserError
    from utfall.platform.contracts.services import contract_party_invite

    with pytest.raises(UserError, match="evaluates this contract"):
        contract_party_invite(
            contract=world.contract,
            organisation=world.organisations[Role.EVALUATOR],
            role=Role.FINANCIER,
            actor=world.users[Role.COMMISSIONER],
        )


@pytest.mark.django_db
def test_every_change_of_parties_is_in_the_audit_trail(world):
    from utfall.platform.contracts.selectors import contract_party_history

    history = contract_party_history(contract=world.contract)
    actions = [entry["action"] for entry in history]
    assert actions[0] == "contract.created"
    evaluator = [e for e in history if e.get("organisation") == "Org evaluator"]
    assert [e["action"] for e in evaluator] == [
        "party.invited",
        "party.invitation_accepted",
        "party.appointment_approved",
        "party.role_set",
    ]
    joined = evaluator[-1]
    assert joined["accepted_by"] == "evaluator"
    assert joined["approved_by"] == ["Org commissioner", "Org financier"]


# --- 3. A token issued before a role change ---------------------------------------------


@pytest.mark.django_db
def test_token_issued_before_a_role_change_does_not_carry_the_new_role(world, client):
    from utfall.platform.contracts.services import contract_party_set
    from utfall.platform.organisations.services import api_token_create

    outsider = world.outsider
    _record, old_token = api_token_create(user=outsider, name="old")
    url = f"/api/contracts/{world.contract.identifier}"
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {old_token}").status_code == 404
    contract_party_set(
        contract=world.contract,
        organisation=world.outsider_org,
        role=Role.PROVIDER,
        actor=world.users[Role.COMMISSIONER],
        accepted_by=outsider,
    )
    # The old token still sees nothing of the contract; a new one does.
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {old_token}").status_code == 404
    listed = client.get("/api/contracts", HTTP_AUTHORIZATION=f"Bearer {old_token}").json()
    assert world.contract.identifier not in {c["identifier"] for c in listed}
    _record, new_token = api_token_create(user=outsider, name="new")
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {new_token}").status_code == 200
    # The page session is not a token: it sees the new role at once.
    client.force_login(outsider)
    assert client.get(f"/contracts/{world.contract.identifier}/").status_code == 200


@pytest.mark.django_db
def test_token_issued_before_joining_an_organisation_does_not_carry_its_rights(
    world, make_user, client
):
    from utfall.platform.organisations.services import api_token_create, membership_add

    newcomer = make_user("newcomer")
    _record, token = api_token_create(user=newcomer, name="before")
    membership_add(user=newcomer, organisation=world.organisations[Role.PROVIDER], actor=None)
    url = f"/api/contracts/{world.contract.identifier}/participants"
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 404


@pytest.mark.django_db
def test_token_issued_before_a_provider_became_commissioner_cannot_manage(world, client):
    from utfall.platform.contracts.services import contract_party_set
    from utfall.platform.organisations.services import api_token_create

    provider = world.users[Role.PROVIDER]
    _record, token = api_token_create(user=provider, name="provider")
    contract_party_set(
        contract=world.contract,
        organisation=world.organisations[Role.PROVIDER],
        role=Role.COMMISSIONER,
        actor=world.users[Role.COMMISSIONER],
        accepted_by=provider,
    )
    response = client.post(
        f"/api/contracts/{world.contract.identifier}/put-in-force",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code in (403, 404), response.content


# --- 4. Token use, single-use TOTP codes, junk ids ---------------------------------------


@pytest.mark.django_db
def test_api_calls_write_token_use_at_most_once_a_minute(world, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from utfall.platform.organisations.models import ApiToken
    from utfall.platform.organisations.services import api_token_create

    record, token = api_token_create(user=world.users[Role.PROVIDER], name="busy")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client.get("/api/me", **headers)
    first = ApiToken.objects.get(pk=record.pk).last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            assert client.get("/api/me", **headers).status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "apitoken" in q["sql"]]
    assert writes == []
    assert ApiToken.objects.get(pk=record.pk).last_used_at == first
    ApiToken.objects.filter(pk=record.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/me", **headers)
    assert ApiToken.objects.get(pk=record.pk).last_used_at > first


@pytest.mark.django_db
def test_one_totp_code_passes_one_sign_request_across_server_processes(world):
    from django.core.cache import cache

    from utfall.errors import UserError
    from utfall.platform.settlements.services import _second_factor

    evaluator = _with_totp(world.users[Role.EVALUATOR])
    code = totp_code(evaluator)
    _second_factor(evaluator, code)
    passed = 1
    # Each server process (or a cache that is not shared atomically) sees its own cache:
    # replay the 19 other concurrent requests as if each came to a fresh process.
    for _ in range(19):
        cache.clear()
        try:
            _second_factor(evaluator, code)
        except UserError as error:
            assert "used already" in error.message
        else:
            passed += 1
    assert passed == 1


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["abc", "1e3", "-1", "٣", "999999", "", "9" * 40])
def test_junk_ids_in_parties_remove_and_token_revoke_are_404(world, client, value):
    client.force_login(world.users[Role.COMMISSIONER])
    url = f"/contracts/{world.contract.identifier}/parties/"
    assert client.post(url, {"remove": value}).status_code == 404
    assert client.post(url, {"approve": value}).status_code == 404
    assert client.post(url, {"withdraw": value}).status_code == 404
    assert client.post("/tokens/", {"revoke": value}).status_code == 404
    assert client.post("/invitations/", {"accept": value}).status_code == 404
    assert world.contract.parties.count() == len(Role)


@pytest.mark.django_db
def test_api_invitation_needs_the_invited_organisations_acceptance(world, client):
    from utfall.platform.organisations.services import api_token_create

    _r, boss = api_token_create(user=world.users[Role.COMMISSIONER], name="c")
    _r, guest = api_token_create(user=world.outsider, name="o")
    base = f"/api/contracts/{world.contract.identifier}"
    response = client.post(
        f"{base}/invitations",
        {"organisation": world.outsider_org.name, "role": "provider"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {boss}",
    )
    assert response.status_code == 201, response.content
    invitation = response.json()["id"]
    # The commissioner cannot accept for the invited organisation.
    response = client.post(
        f"/api/invitations/{invitation}/accept", HTTP_AUTHORIZATION=f"Bearer {boss}"
    )
    assert response.status_code == 404
    assert client.get(base, HTTP_AUTHORIZATION=f"Bearer {guest}").status_code == 404
    listed = client.get("/api/invitations", HTTP_AUTHORIZATION=f"Bearer {guest}").json()
    assert [i["id"] for i in listed] == [invitation]
    response = client.post(
        f"/api/invitations/{invitation}/accept", HTTP_AUTHORIZATION=f"Bearer {guest}"
    )
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    # The token was issued before the role: it still does not carry it (decision 0602).
    assert client.get(base, HTTP_AUTHORIZATION=f"Bearer {guest}").status_code == 404
    history = client.get(f"{base}/parties/history", HTTP_AUTHORIZATION=f"Bearer {boss}").json()
    assert history[-1]["action"] == "party.role_set"
    assert history[-1]["details"]["accepted_by"] == "outsider"


@pytest.mark.django_db
def test_invitation_pages_speak_swedish_and_english(world, client):
    from utfall.platform.contracts.services import contract_party_invite

    contract_party_invite(
        contract=world.contract,
        organisation=world.outsider_org,
        role=Role.PROVIDER,
        actor=world.users[Role.COMMISSIONER],
    )
    url = f"/contracts/{world.contract.identifier}/parties/"
    client.force_login(world.users[Role.COMMISSIONER])
    swedish = client.get(url).content.decode()
    assert "Bjud in en organisation" in swedish and "Inbjudningar som väntar" in swedish
    client.force_login(world.outsider)
    home = client.get("/").content.decode()
    assert "En inbjudan till ett kontrakt väntar på ditt svar." in home
    assert "Acceptera" in client.get("/invitations/").content.decode()
    client.cookies["django_language"] = "en"
    assert "One invitation to a contract waits" in client.get("/").content.decode()
    assert "Accept" in client.get("/invitations/").content.decode()
    client.force_login(world.users[Role.COMMISSIONER])
    english = client.get(url).content.decode()
    assert "Invite an organisation" in english and "Invitations waiting" in english


@pytest.mark.django_db
def test_admin_cannot_remove_an_evaluators_second_factor(client, world, admin_user):
    from allauth.mfa.models import Authenticator

    evaluator = _with_totp(world.users[Role.EVALUATOR])
    authenticator = Authenticator.objects.get(user=evaluator, type=Authenticator.Type.TOTP)
    _login_with_both_factors(client, admin_user)
    url = f"/admin/mfa/authenticator/{authenticator.pk}/delete/"
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 403
    assert Authenticator.objects.filter(pk=authenticator.pk).exists()
    assert client.get("/admin/mfa/authenticator/add/").status_code == 403
