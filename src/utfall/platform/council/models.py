"""Council meetings, the dashboard snapshot each looked at, and their decisions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CouncilMeeting(models.Model):
    """One meeting of a contract's intervention council.

    ``snapshot`` is the dashboard as the meeting saw it (computed for ``as_of``),
    frozen when the meeting is recorded: it is never recomputed or changed, and
    ``snapshot_sha256`` (of its canonical JSON) lets anyone check that.
    """

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="council_meetings"
    )
    held_on = models.DateField(_("held on"))
    as_of = models.DateField(_("data as of"))
    title = models.CharField(_("title"), max_length=200)
    agenda = models.TextField(_("agenda"), blank=True)
    minutes = models.TextField(_("minutes"), blank=True)
    snapshot = models.JSONField()
    snapshot_sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("contract", "-held_on", "-pk")
        verbose_name = _("council meeting")
        verbose_name_plural = _("council meetings")

    def __str__(self) -> str:
        return f"{self.contract.identifier} {self.held_on:%Y-%m-%d}"


class DecisionKind(models.TextChoices):
    DECISION = "decision", _("Decision")
    RECOMMENDATION = "recommendation", _("Recommendation")


class DecisionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    DROPPED = "dropped", _("Dropped")


class CouncilDecision(models.Model):
    """A decision or recommendation of a meeting, with an owner and a due date.

    A later meeting follows it up: ``followed_up_at`` names that meeting,
    ``status`` and ``follow_up`` say what became of it.
    """

    meeting = models.ForeignKey(CouncilMeeting, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(
        _("kind"), max_length=20, choices=DecisionKind.choices, default=DecisionKind.DECISION
    )
    text = models.TextField(_("text"))
    owner = models.CharField(_("owner"), max_length=200)
    due_on = models.DateField(_("due"))
    status = models.CharField(
        _("status"), max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.OPEN
    )
    follow_up = models.TextField(_("follow-up"), blank=True)
    followed_up_at = models.ForeignKey(
        CouncilMeeting, on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_ups"
    )

    class Meta:
        ordering = ("meeting", "due_on", "pk")
        verbose_name = _("council decision")
        verbose_name_plural = _("council decisions")

    def __str__(self) -> str:
        return self.text[:60]


class CouncilRelease(models.Model):
    """The dashboard as published to roles that see aggregates only, on one reporting date
    and one state of the data (decision 0610).

    Stored once and never changed: every later release is compared with ``cells`` (the
    counts of people behind each figure it shows) so that no two releases differ by a
    figure describing 1–4 people. ``key`` is the dashboard's cache key (data state and day).
    """

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="council_releases"
    )
    as_of = models.DateField(_("reporting date"))
    key = models.CharField(max_length=100)
    dashboard = models.JSONField()
    cells = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("contract", "pk")
        constraints = (
            models.UniqueConstraint(fields=("contract", "key"), name="council_release_once"),
        )
        verbose_name = _("council release")
        verbose_name_plural = _("council releases")

    def __str__(self) -> str:
        return f"{self.contract.identifier} {self.as_of:%Y-%m-%d}"
