"""What the knowledge platform publishes about a contract.

A contract is shown publicly only when its :class:`Publication` says
``published``. Results are stored as aggregates (never individual rows); small
cells are withheld when they are shown or exported, never when stored, so a
later, larger group can be published once it is large enough.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    """INDIGO's stage of development."""

    EARLY = "Early-stage design", _("Early-stage design")
    LATE = "Late-stage design", _("Late-stage design")
    CONTRACTED = "Contracted", _("Contracted")
    IMPLEMENTATION = "Implementation", _("Implementation")
    DELIVERY_COMPLETE = "Service delivery complete", _("Service delivery complete")
    COMPLETE = "Complete", _("Complete")


class Publication(models.Model):
    """A contract's public page: whether it is published, and what is said about it."""

    contract = models.OneToOneField(
        "contracts.Contract", on_delete=models.CASCADE, related_name="publication"
    )
    published = models.BooleanField(_("published"), default=False)
    summary = models.TextField(_("summary"), blank=True)
    policy_sector = models.CharField(_("policy sector"), max_length=100, blank=True)
    stage = models.CharField(
        _("stage of development"), max_length=40, choices=Stage.choices, default=Stage.CONTRACTED
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("contract__title",)
        verbose_name = _("publication")
        verbose_name_plural = _("publications")

    def __str__(self) -> str:
        return f"{self.contract.identifier} ({'published' if self.published else 'unpublished'})"


class ResultType(models.TextChoices):
    INTERIM = "Interim", _("Interim")
    FINAL = "Final", _("Final")


class PublishedResult(models.Model):
    """One aggregate: of ``n`` individuals in ``group``, ``count`` reached the outcome."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="results")
    outcome_metric_id = models.CharField(_("outcome"), max_length=120)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    group = models.CharField(_("group"), max_length=120, default="all")
    n = models.PositiveIntegerField(_("individuals"))
    count = models.PositiveIntegerField(_("reached the outcome"), null=True, blank=True)
    result_type = models.CharField(
        max_length=10, choices=ResultType.choices, default=ResultType.INTERIM
    )
    source = models.CharField(_("source"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("outcome_metric_id", "period_start", "group")
        constraints = (
            models.UniqueConstraint(
                fields=["publication", "outcome_metric_id", "period_start", "period_end", "group"],
                name="one_result_per_cell",
            ),
            models.CheckConstraint(
                condition=models.Q(count__isnull=True) | models.Q(count__lte=models.F("n")),
                name="count_at_most_n",
            ),
        )


class LessonKind(models.TextChoices):
    LESSON = "lesson", _("Lesson")
    EVALUATION_REPORT = "evaluation_report", _("Evaluation report")


class Lesson(models.Model):
    """A lesson learnt or an evaluation report about a published contract."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="lessons")
    kind = models.CharField(max_length=20, choices=LessonKind.choices, default=LessonKind.LESSON)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("text"), blank=True)
    url = models.URLField(_("link"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("kind", "-created_at")

    def __str__(self) -> str:
        return self.title
