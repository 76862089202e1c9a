"""Participants: a keyed pseudonym per person and contract, never the clear number."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Participant(models.Model):
    """A person in a contract's target (or comparison) group."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="participants"
    )
    pseudonym = models.CharField(_("pseudonym"), max_length=64)
    included_on = models.DateField(_("included on"))
    # The day the person left (an employee's last day of employment); empty while
    # they take part. A sick-leave head count stops counting them after that month.
    left_on = models.DateField(_("left on"), null=True, blank=True)
    group = models.CharField(_("group"), max_length=20, default="treatment")
    cohort = models.CharField(_("cohort"), max_length=50, blank=True)
    batch = models.ForeignKey(
        "imports.ImportBatch", on_delete=models.PROTECT, related_name="participants"
    )

    class Meta:
        ordering = ("contract", "included_on", "pk",)
        constraints = (
            models.UniqueConstraint(fields=["contract", "pseudonym"], name="unique_participant"),
        )

    def __str__(self) -> str:
        return self.short_pseudonym

    @property
    def short_pseudonym(self) -> str:
        """The first 12 hex digits: enough to tell people apart on a page."""
        return self.pseudonym[:12]
