"""The national outcomes fund as stored by the platform (seed 003, DESIGN.md 2.4).

The budget rule itself lives in the pure core (:mod:`utfall.core.fund`); these
models hold what the rule is applied to: budget lines, commitments, payments.
Applicants are *constellations* (an organisation on the platform leads; the
others are listed as members). Rows that record a decision or a payment are
only ever added.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from utfall.core.fund import fairness

MONEY = {"max_digits": 14, "decimal_places": 2}


class Fund(models.Model):
    """An outcomes fund, administered by one organisation (e.g. the delegation)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    administrator = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="funds"
    )
    max_share_of_costs = models.DecimalField(
        _("largest share of costs"), max_digits=4, decimal_places=2, default="0.50"
    )
    outcome_payment_ceiling = models.DecimalField(
        _("ceiling for outcome payments"), null=True, blank=True, **MONEY
    )
    payment_category = models.CharField(
        _("budget line for outcome payments"),
        max_length=60,
        default="phase_implementation",
        help_text=_("The other budget lines are the fund's own work: reserved, not payable."),
    )
    contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The outcome contract every constellation is paid under (its rate card)."),
    )
    evaluator = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("evaluator"),
        help_text=_("Evaluates the reports and signs the statements off (the evaluator party)."),
    )
    # What the fund knows about its contract (decision 0506): the declared tables it writes
    # the reports, the costs and its own payments to, their columns, and the output whose
    # signed value goes into the budget rule. Checked against the declaration when set.
    reports_table = models.CharField(
        _("table of the outcome reports"),
        max_length=100,
        blank=True,
        help_text=_("The contract's series the six-monthly reports and the baseline go to."),
    )
    indicator_column = models.CharField(
        _("indicator column"),
        max_length=100,
        blank=True,
        help_text=_("Its choice column naming the indicator (the library's code)."),
    )
    n_column = models.CharField(_("column of the individuals (n)"), max_length=100, blank=True)
    count_column = models.CharField(
        _("column of those meeting the indicator"), max_length=100, blank=True
    )
    baseline_column = models.CharField(
        _("baseline column"),
        max_length=100,
        blank=True,
        help_text=_("Its boolean column marking the baseline."),
    )
    costs_table = models.CharField(
        _("table of the cost reports"),
        max_length=100,
        blank=True,
        help_text=_("The contract's series the costs to date go to, with every report."),
    )
    costs_column = models.CharField(_("column of the costs to date"), max_length=100, blank=True)
    payments_table = models.CharField(
        _("table of the outcome payments"),
        max_length=100,
        blank=True,
        help_text=_(
            "The contract's series the fund's own payments go to, dated with the end of the "
            "period of the report paid."
        ),
    )
    payment_column = models.CharField(_("column of the amount paid"), max_length=100, blank=True)
    value_output = models.CharField(
        _("output of the outcome value"),
        max_length=100,
        blank=True,
        help_text=_("The contract's money output whose signed value the budget rule limits."),
    )
    # Support for the constellations' local project leaders (seed 003 phase 3, decision
    # 0960): settled under an instance of its own contract per constellation, on the
    # project leader's costs of the period (a row of its declared table), paid on the
    # statement's signed output.
    support_contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("support contract"),
        help_text=_("The contract the support for the local project leaders is settled under."),
    )
    support_table = models.CharField(
        _("table of the project leader's costs"), max_length=100, blank=True
    )
    support_column = models.CharField(
        _("column of the project leader's costs"), max_length=100, blank=True
    )
    support_output = models.CharField(
        _("output of the support payment"), max_length=100, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)
        verbose_name = _("fund")
        verbose_name_plural = _("funds")

    def __str__(self) -> str:
        return self.name


class BudgetLine(models.Model):
    """One line of the fund's budget in one year."""

    fund = models.ForeignKey(Fund, on_delete=models.CASCADE, related_name="budget_lines")
    year = models.PositiveIntegerField(_("year"))
    category = models.CharField(_("category"), max_length=60)
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        ordering = ("year", "pk")
        constraints = (
            models.UniqueConstraint(fields=["fund", "year", "category"], name="one_budget_line"),
        )


class Phase(models.Model):
    """One of the pilot's five phases, with its dates, deliverables and decisions."""

    fund = models.ForeignKey(Fund, on_delete=models.CASCADE, related_name="phases")
    number = models.PositiveSmallIntegerField(_("phase"))
    name = models.CharField(_("name"), max_length=200)
    starts_on = models.DateField(_("starts"))
    ends_on = models.DateField(_("ends"))
    deliverables = models.TextField(_("deliverables"), blank=True)
    decisions = models.TextField(_("decisions"), blank=True)

    class Meta:
        ordering = ("fund", "number")
        constraints = (models.UniqueConstraint(fields=["fund", "number"], name="one_phase"),)

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"

    @property
    def deliverable_list(self) -> list[str]:
        return [line for line in self.deliverables.splitlines() if line.strip()]


class Direction(models.TextChoices):
    HIGHER = "higher_is_better", _("higher is better")
    LOWER = "lower_is_better", _("lower is better")


class Indicator(models.Model):
    """An entry of the indicator library: a desired change and how it is measured."""

    code = models.SlugField(_("code"), max_length=80, unique=True)
    name = models.CharField(_("indicator"), max_length=300)
    desired_change = models.CharField(_("desired change"), max_length=300)
    unit = models.CharField(_("unit"), max_length=60, blank=True)
    direction = models.CharField(max_length=20, choices=Direction.choices, default=Direction.HIGHER)
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        ordering = ("code",)

    def __str__(self) -> str:
        return self.name


class CallStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    DECIDED = "decided", _("Decided")


class Call(models.Model):
    """A call for constellations to apply, with its criteria, deadline and documents."""

    fund = models.ForeignKey(Fund, on_delete=models.CASCADE, related_name="calls")
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    opens_on = models.DateField(_("opens"))
    deadline = models.DateField(_("deadline"))
    outcome_payment_frame = models.DecimalField(
        _("frame for outcome payments"),
        **MONEY,
        help_text=_("The most the selected constellations may be promised together."),
    )
    implementation_start_year = models.PositiveIntegerField(_("implementation from"))
    implementation_end_year = models.PositiveIntegerField(_("implementation to"))
    documents = models.TextField(_("documents"), blank=True, help_text=_("One link per line."))
    status = models.CharField(max_length=10, choices=CallStatus.choices, default=CallStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-opens_on", "pk")

    def __str__(self) -> str:
        return self.title

    @property
    def document_list(self) -> list[str]:
        return [line.strip() for line in self.documents.splitlines() if line.strip()]


class Criterion(models.Model):
    """A criterion reviewers score applications on (0–5), with its weight."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="criteria")
    code = models.SlugField(max_length=60)
    name = models.CharField(_("criterion"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    weight = models.DecimalField(_("weight"), max_digits=4, decimal_places=2, default="1")
    is_base = models.BooleanField(_("base criterion for screening"), default=False)

    class Meta:
        ordering = ("call", "pk")
        constraints = (models.UniqueConstraint(fields=["call", "code"], name="one_criterion"),)

    def __str__(self) -> str:
        return self.name


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    SCREENED_IN = "screened_in", _("Qualified for deep analysis")
    SCREENED_OUT = "screened_out", _("Not qualified")
    SELECTED = "selected", _("Selected for outcome financing")
    NOT_SELECTED = "not_selected", _("Not selected")


class Application(models.Model):
    """A constellation's application to a call."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="applications")
    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        related_name="fund_applications",
        verbose_name=_("lead organisation"),
    )
    constellation_name = models.CharField(_("constellation"), max_length=200)
    members = models.JSONField(_("members"), default=list)
    needs_analysis = models.TextField(_("needs analysis and problem formulation"))
    target_group = models.TextField(_("target group"))
    theory_of_change = models.TextField(_("theory of change"))
    evaluation_design = models.TextField(_("evaluation design"))
    readiness = models.TextField(_("organisational readiness"), blank=True)
    budget_total = models.DecimalField(_("total budget"), **MONEY)
    co_financing = models.DecimalField(_("own and co-financing"), **MONEY)
    requested_outcome_payment = models.DecimalField(_("outcome payment applied for"), **MONEY)
    status = models.CharField(
        max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("call", "constellation_name")

    def __str__(self) -> str:
        return self.constellation_name


class ApplicationOutcome(models.Model):
    """An outcome definition at three levels: desired change → indicator → causal effect."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="outcomes")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    desired_change = models.TextField(_("desired change"))
    causal_effect = models.TextField(_("causal effect: how it is estimated"))
    baseline_share = models.DecimalField(
        _("baseline share"), max_digits=6, decimal_places=4, null=True, blank=True
    )
    target_share = models.DecimalField(
        _("target share"), max_digits=6, decimal_places=4, null=True, blank=True
    )

    class Meta:
        ordering = ("application", "pk")
        constraints = (
            models.UniqueConstraint(fields=["application", "indicator"], name="one_outcome"),
        )


class Screening(models.Model):
    """The first screening against the base criteria, with written feedback."""

    application = models.OneToOneField(
        Application, on_delete=models.CASCADE, related_name="screening"
    )
    qualified = models.BooleanField(_("qualified for deep analysis"))
    strengths = models.TextField(_("strengths"))
    weaknesses = models.TextField(_("weaknesses and areas to improve"))
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    screened_at = models.DateTimeField(auto_now_add=True)


class Review(models.Model):
    """One reviewer's scores of one application."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(_("comment"), blank=True)
    weighted_score = models.DecimalField(max_digits=6, decimal_places=3)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["application", "reviewer"], name="one_review"),
        )


class ReviewScore(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField()

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["review", "criterion"], name="one_score"),
            models.CheckConstraint(condition=models.Q(score__lte=5), name="score_0_to_5"),
        )


class DecisionKind(models.TextChoices):
    SCREENING = "screening", _("Screening")
    SELECTION = "selection", _("Selection")
    TERMINATION = "termination", _("Termination")
    OUTCOME_PAYMENT = "outcome_payment", _("Outcome payment")
    DEEP_ANALYSIS = "deep_analysis", _("Decision after the deep analysis")
    SUPPORT_PAYMENT = "support_payment", _("Support payment")
    FAIRNESS = "fairness", _("Settlement by the fairness rule")


class Decision(models.Model):
    """A decision record of the fund: what was decided, by whom, and why."""

    fund = models.ForeignKey(Fund, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=20, choices=DecisionKind.choices)
    summary = models.CharField(_("decision"), max_length=300)
    reasons = models.TextField(_("reasons"))
    details = models.JSONField(default=dict)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-decided_at", "-pk")


class ConstellationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    TERMINATED = "terminated", _("Terminated")
    COMPLETED = "completed", _("Contract ended")


class Constellation(models.Model):
    """A selected constellation the fund supports and pays outcome payments to."""

    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="constellation"
    )
    code = models.CharField(_("code"), max_length=20)
    status = models.CharField(
        max_length=12, choices=ConstellationStatus.choices, default=ConstellationStatus.ACTIVE
    )
    follow_up_protocol = models.TextField(_("common follow-up protocol"), blank=True)
    contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "The instance of the fund's contract the constellation is paid under: its "
            "statements go through the settlement workflow."
        ),
    )
    terminated_at = models.DateTimeField(null=True, blank=True)
    termination_reason = models.TextField(blank=True)
    support_contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "The instance of the fund's support contract the project leader is paid under."
        ),
    )
    completed_on = models.DateField(_("contract ended"), null=True, blank=True)

    class Meta:
        ordering = ("code",)

    def __str__(self) -> str:
        return f"{self.code} {self.application.constellation_name}"

    @property
    def fund(self) -> Fund:
        return self.application.call.fund


class Commitment(models.Model):
    """Outcome payment promised to a constellation for a budget year."""

    constellation = models.ForeignKey(
        Constellation, on_delete=models.CASCADE, related_name="commitments"
    )
    year = models.PositiveIntegerField(_("year"))
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        ordering = ("constellation", "year")
        constraints = (
            models.UniqueConstraint(fields=["constellation", "year"], name="one_commitment"),
        )


class ReportStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    EVALUATED = "evaluated", _("Evaluated: statement in the settlement workflow")
    PAID = "paid", _("Evaluated and paid")


class OutcomeReport(models.Model):
    """A six-monthly outcome report (or the baseline) of a constellation."""

    constellation = models.ForeignKey(
        Constellation, on_delete=models.CASCADE, related_name="reports"
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    is_baseline = models.BooleanField(_("baseline"), default=False)
    reported_costs_to_date = models.DecimalField(_("reported costs to date"), **MONEY)
    status = models.CharField(
        max_length=10, choices=ReportStatus.choices, default=ReportStatus.SUBMITTED
    )
    # The statement the evaluator started on the report (a discarded draft frees the report).
    settlement = models.ForeignKey(
        "contracts.Settlement",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("constellation", "period_start")
        constraints = (
            models.UniqueConstraint(
                fields=["constellation", "period_start"], name="one_report_per_period"
            ),
        )


class OutcomeReportLine(models.Model):
    """Of ``n`` individuals in the target group, ``count`` meet the indicator."""

    report = models.ForeignKey(OutcomeReport, on_delete=models.CASCADE, related_name="lines")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    n = models.PositiveIntegerField(_("individuals"))
    count = models.PositiveIntegerField(_("meet the indicator"))
    verified_units = models.DecimalField(
        _("verified outcome units"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    evaluation = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["report", "indicator"], name="one_line"),
            models.CheckConstraint(
                condition=models.Q(count__lte=models.F("n")), name="line_count_le_n"
            ),
        )


class OutcomePayment(models.Model):
    """An outcome payment made on a report, with the limit that bound it; never changed."""

    report = models.OneToOneField(OutcomeReport, on_delete=models.PROTECT, related_name="payment")
    settlement = models.ForeignKey(
        "contracts.Settlement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The final (signed) statement the payment is made on."),
    )
    year = models.PositiveIntegerField(_("budget year"))
    outcome_value = models.DecimalField(_("outcome value to date"), **MONEY)
    amount = models.DecimalField(_("amount"), **MONEY)
    binding = models.CharField(_("binding limit"), max_length=20)
    explanation = models.JSONField(default=list)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    paid_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-paid_at",)

    BINDING_LABELS = {  # noqa: RUF012 - a constant, not a field
        "outcomes": _("the verified outcomes"),
        "cost_share": _("the share of the reported costs"),
        "year_budget": _("what is left of the year's budget"),
    }

    @property
    def binding_label(self) -> str:
        """The binding limit in words."""
        return str(self.BINDING_LABELS.get(self.binding, self.binding))


# Phase 3: the deep analysis of a qualified application (seed 003 tabell 5, decision 0960).


class DeliverableKind(models.TextChoices):
    """The deliverables of seed 003's table 5, in its order, and the common protocol."""

    PROJECT_LEADER = "project_leader", _("Local project leader and current capacity")
    LOCAL_DATA = "local_data", _("Analysis of local quantitative and qualitative data")
    THEORY_OF_CHANGE = "theory_of_change", _("Theory of change across the prevention triangle")
    EVIDENCE = "evidence", _("Evidence matched against the theory of change")
    OUTCOME_DEFINITIONS = "outcome_definitions", _("Locally anchored outcome definitions")
    IMPLEMENTATION_PLAN = "implementation_plan", _("Implementation plan")
    FOLLOW_UP_PLAN = "follow_up_plan", _("Follow-up plan")
    CONSEQUENCE_ANALYSIS = "consequence_analysis", _("Consequence analysis")
    FOLLOW_UP_PROTOCOL = "follow_up_protocol", _("Common follow-up and evaluation protocol")


class DeliverableStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")


class DeepAnalysis(models.Model):
    """Phase 3 for one qualified application, ending with the delegation's decision."""

    application = models.OneToOneField(
        Application, on_delete=models.CASCADE, related_name="deep_analysis"
    )
    project_leader = models.CharField(_("local project leader"), max_length=200, blank=True)
    universal = models.TextField(_("universal prevention"), blank=True)
    selective = models.TextField(_("selective prevention"), blank=True)
    indicated = models.TextField(_("indicated prevention"), blank=True)
    financed = models.BooleanField(_("financed"), null=True)
    reasons = models.TextField(_("reasons"), blank=True)
    improvement_areas = models.TextField(_("areas to improve"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)


class Deliverable(models.Model):
    """One deliverable of a deep analysis, with its owner, due date and status."""

    analysis = models.ForeignKey(
        DeepAnalysis, on_delete=models.CASCADE, related_name="deliverables"
    )
    kind = models.CharField(max_length=30, choices=DeliverableKind.choices)
    owner = models.CharField(_("owner"), max_length=200)
    due_on = models.DateField(_("due"))
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=DeliverableStatus.choices,
        default=DeliverableStatus.PLANNED,
    )
    content = models.TextField(_("content"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("analysis", "pk")
        constraints = (
            models.UniqueConstraint(fields=["analysis", "kind"], name="one_deliverable"),
        )


class ConflictDeclaration(models.Model):
    """A reviewer's declaration of conflicts of interest for one application, before scoring."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="declarations"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    has_conflict = models.BooleanField(_("conflict of interest"))
    description = models.TextField(_("description"), blank=True)
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["application", "reviewer"], name="one_declaration"),
        )


class SupportPayment(models.Model):
    """Support for a constellation's local project leader, paid on a final statement."""

    constellation = models.ForeignKey(
        Constellation, on_delete=models.PROTECT, related_name="support_payments"
    )
    settlement = models.OneToOneField(
        "contracts.Settlement", on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveIntegerField(_("budget year"))
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    amount = models.DecimalField(_("amount"), **MONEY)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    paid_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("constellation", "period_start")


# Phase 4: the report calendar, fidelity follow-up and the fairness rule (decision 0961).


class ReportReminder(models.Model):
    """A reminder sent about a six-monthly report that is due (or overdue)."""

    constellation = models.ForeignKey(
        Constellation, on_delete=models.CASCADE, related_name="reminders"
    )
    period_end = models.DateField(_("period to"))
    due_on = models.DateField(_("due"))
    overdue = models.BooleanField(_("overdue"), default=False)
    recipients = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-sent_at",)
        constraints = (
            models.UniqueConstraint(
                fields=["constellation", "period_end", "overdue"], name="one_reminder"
            ),
        )


class FidelityRating(models.TextChoices):
    AS_PLANNED = "as_planned", _("Carried out as planned")
    PARTLY = "partly", _("Partly as planned")
    INSUFFICIENT = "insufficient", _("Not with sufficient quality")


class FidelityReview(models.Model):
    """Follow-up of the quality of the implementation and fidelity to the plan."""

    constellation = models.ForeignKey(
        Constellation, on_delete=models.CASCADE, related_name="fidelity_reviews"
    )
    reviewed_on = models.DateField(_("reviewed on"))
    rating = models.CharField(_("fidelity"), max_length=12, choices=FidelityRating.choices)
    findings = models.TextField(_("findings"))
    actions = models.TextField(_("agreed actions"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-reviewed_on", "-pk")


class Effort(models.TextChoices):
    DID_ALL = fairness.DID_ALL, _("Did everything it could")
    INSUFFICIENT = fairness.INSUFFICIENT, _("Insufficient effort under the agreement")


class FairnessSettlement(models.Model):
    """At termination, what the constellation returns by seed 003's fairness rule."""

    constellation = models.OneToOneField(
        Constellation, on_delete=models.PROTECT, related_name="fairness"
    )
    effort = models.CharField(_("effort"), max_length=12, choices=Effort.choices)
    support_paid = models.DecimalField(_("support paid"), **MONEY)
    support_used = models.DecimalField(_("support used"), **MONEY)
    outcome_paid = models.DecimalField(_("outcome payments made"), **MONEY)
    unused_returned = models.DecimalField(_("unused funds returned"), **MONEY)
    repayment = models.DecimalField(_("repayment for insufficient effort"), **MONEY)
    reasons = models.TextField(_("reasons"))
    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    @property
    def total_returned(self):  # type: ignore[no-untyped-def]
        """Everything the constellation pays back."""
        return self.unused_returned + self.repayment


# Phase 5: dissemination and sustainment after the contract ends (decision 0962).


class FollowOnKind(models.TextChoices):
    DISSEMINATION_CALL = "dissemination_call", _("Dissemination call")
    MENTORING = "mentoring", _("Mentoring network")
    SUSTAINMENT = "sustainment", _("Support to sustain what worked")


class FollowOnStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    ONGOING = "ongoing", _("Ongoing")
    DONE = "done", _("Done")


class FollowOn(models.Model):
    """Phase 5 for a constellation whose contract has ended: what spreads and what stays."""

    constellation = models.ForeignKey(
        Constellation, on_delete=models.CASCADE, related_name="follow_ons"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=FollowOnKind.choices)
    description = models.TextField(_("description"))
    partner = models.CharField(_("with"), max_length=200, blank=True)
    starts_on = models.DateField(_("starts"))
    status = models.CharField(
        _("status"), max_length=10, choices=FollowOnStatus.choices, default=FollowOnStatus.PLANNED
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    STATUSES = FollowOnStatus.choices  # the choices, for the page's select

    class Meta:
        ordering = ("constellation", "starts_on", "pk")
