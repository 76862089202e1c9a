"""Contracts as stored by the platform (the YAML text is the contract; the core parses it)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The role an organisation takes in a contract."""

    COMMISSIONER = "commissioner", _("Commissioner")
    FINANCIER = "financier", _("Financier")
    PROVIDER = "provider", _("Provider")
    INTERMEDIARY = "intermediary", _("Intermediary")
    EVALUATOR = "evaluator", _("Evaluator")


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_FORCE = "in_force", _("In force")


class Contract(models.Model):
    """One outcome contract; its text lives in versions, newest last."""

    identifier = models.CharField(_("identifier"), max_length=120, unique=True)
    title = models.CharField(_("title"), max_length=300)
    status = models.CharField(
        _("status"), max_length=20, choices=ContractStatus.choices, default=ContractStatus.DRAFT
    )
    in_force_since = models.DateTimeField(_("in force since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("title",)
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")

    def __str__(self) -> str:
        return self.title


class ContractVersion(models.Model):
    """An uploaded contract text; never changed after it is written."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("number"))
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    declared_version = models.CharField(_("version in the document"), max_length=50, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    amendment_reason = models.TextField(_("reason for the amendment"), blank=True)
    test_results = models.JSONField(default=list)

    class Meta:
        ordering = (
            "contract",
            "number",
        )
        constraints = (
            models.UniqueConstraint(fields=["contract", "number"], name="unique_version_number"),
        )

    def __str__(self) -> str:
        return f"{self.contract.identifier} v{self.number}"

    @property
    def tests_passed(self) -> int:
        return sum(1 for case in self.test_results if case["passed"])

    @property
    def tests_failed(self) -> int:
        return len(self.test_results) - self.tests_passed


class ContractParty(models.Model):
    """An organisation's role in a contract (one role per organisation and contract)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="parties")
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="contract_roles"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    # Since when the organisation holds its current role (set again when the role
    # changes): an API token counts only roles older than itself (decision 0602).
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = (
            "contract",
            "role",
        )
        constraints = (
            models.UniqueConstraint(fields=["contract", "organisation"], name="one_role_per_party"),
        )

    def __str__(self) -> str:
        return f"{self.organisation} ({self.role})"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ContractInvitation(models.Model):
    """An organisation invited to take a role in a contract (decision 0601).

    It becomes a party only when one of its members accepts; an evaluator also
    needs the approval of every commissioner and financier of the contract,
    recorded in ``approvals`` as ``{"organisation_id", "organisation", "user", "at"}``.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="invitations")
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="contract_invitations"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=InvitationStatus.choices,
        default=InvitationStatus.PENDING,
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    invited_at = models.DateTimeField(auto_now_add=True)
    approvals = models.JSONField(default=list, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-invited_at", "-pk")
        constraints = (
            models.UniqueConstraint(
                fields=["contract", "organisation"],
                condition=models.Q(status="pending"),
                name="one_pending_invitation_per_party",
            ),
        )

    def __str__(self) -> str:
        return f"{self.organisation} ({self.role}) → {self.contract.identifier}"


class SettlementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REVIEW = "review", _("In review")
    SIGNED = "signed", _("Final (signed)")


class Settlement(models.Model):
    """A settlement statement computed by the core; immutable once signed."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="settlements")
    version = models.ForeignKey(ContractVersion, on_delete=models.PROTECT, related_name="+")
    facts = models.JSONField()
    result = models.JSONField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(
        max_length=10, choices=SettlementStatus.choices, default=SettlementStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    supersedes = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )
    # The settlement workflow (utfall.platform.settlements): period, evaluator-entered
    # inputs with their reasons, review, and what sign-off produced.
    period_start = models.DateField(_("period from"), null=True, blank=True)
    period_end = models.DateField(_("period to"), null=True, blank=True)
    correction_reason = models.TextField(_("reason for the correction"), blank=True)
    manual_inputs = models.JSONField(default=dict, blank=True)
    review_started_at = models.DateTimeField(null=True, blank=True)
    statement = models.JSONField(null=True, blank=True)
    signature = models.CharField(max_length=100, blank=True)
    key_fingerprint = models.CharField(max_length=64, blank=True)
    bundle = models.TextField(blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.contract.identifier} settlement {self.pk}"
