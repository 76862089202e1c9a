"""Forms of the fund pages: parsing what a person typed; the rules are in the services.

Every typed figure goes through :class:`NumberField` (the platform's
:class:`~utfall.platform.web.forms.NumberField`: ``10 000 000,00``, ``1,5``, ``1.5``), whose
message names the field it belongs to. Lists (members, criteria) are formsets, one row per
item, with selects where the value is one of a few: nothing has a syntax of its own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from utfall.platform.fund import labels
from utfall.platform.fund.models import Indicator
from utfall.platform.links import link_is_safe
from utfall.platform.web.forms import NumberField
from utfall.services import formatting

OUTCOME_SLOTS = 3
TEXTAREA = forms.Textarea(attrs={"rows": 3})
SCORES = range(6)


def _yes_or_no(label: Any, *options: tuple[str, Any]) -> forms.TypedChoiceField:
    """A required choice of "yes" or "no" (labelled by ``options``, in their order), cleaned
    to a bool."""
    return forms.TypedChoiceField(
        label=label, coerce=lambda v: v == "yes", choices=[("", _("— choose —")), *options]
    )


def _with_figures(message: Any, **figures: str) -> str:
    """``message`` with its example figures written in the active language's form (as
    many decimals as the figure is written with)."""
    language = formatting.language_of(get_language())
    shown = {}
    for name, figure in figures.items():
        places = len(figure.partition(".")[2])
        shown[name] = formatting.number(Decimal(figure), language, places or None)
    return str(message) % shown


with_figures = lazy(_with_figures, str)
"""A text whose example figures follow the language of the page it is shown on."""


class CountField(NumberField):
    """A whole number typed as ``1 000`` or ``1000``; the value is an ``int``."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("decimal_places", 0)
        super().__init__(*args, **kwargs)
        self.widget.attrs["inputmode"] = "numeric"

    def clean(self, value: Any) -> Any:
        cleaned = super().clean(value)
        return None if cleaned is None else int(cleaned)


class ApplicationForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=None, label=_("Lead organisation"))
    constellation_name = forms.CharField(label=_("Name of the constellation"), max_length=200)
    needs_analysis = forms.CharField(
        label=_("Needs analysis and problem formulation"), widget=TEXTAREA
    )
    target_group = forms.CharField(label=_("Target group"), widget=TEXTAREA)
    theory_of_change = forms.CharField(label=_("Theory of change"), widget=TEXTAREA)
    evaluation_design = forms.CharField(label=_("Evaluation design"), widget=TEXTAREA)
    readiness = forms.CharField(
        label=_("Organisational readiness"), widget=TEXTAREA, required=False
    )
    budget_total = NumberField(
        label=_("Total budget (SEK)"), min_value=0, decimal_places=2, max_digits=14
    )
    co_financing = NumberField(
        label=_("Own and co-financing (SEK)"), min_value=0, decimal_places=2, max_digits=14
    )
    requested_outcome_payment = NumberField(
        label=_("Outcome payment applied for (SEK)"),
        min_value=0,
        decimal_places=2,
        max_digits=14,
        help_text=_("At most half of the budget."),
    )

    def __init__(self, *args: Any, organisations: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        indicators = Indicator.objects.all()
        for slot in range(OUTCOME_SLOTS):
            required = slot == 0
            self.fields[f"indicator_{slot}"] = IndicatorChoiceField(
                queryset=indicators,
                required=required,
                label=_("Indicator (from the library)"),
            )
            self.fields[f"desired_change_{slot}"] = forms.CharField(
                required=required, label=_("Desired change")
            )
            self.fields[f"causal_effect_{slot}"] = forms.CharField(
                required=required, label=_("Causal effect (how it is estimated)")
            )
            self.fields[f"baseline_share_{slot}"] = NumberField(
                required=False,
                min_value=0,
                max_value=100,
                decimal_places=2,
                max_digits=5,
                label=_("Baseline share (per cent, 0–100)"),
                help_text=with_figures(
                    _("For example %(share)s for %(share)s per cent; leave empty if not known."),
                    share="12.5",
                ),
            )

    def main_fields(self) -> list[Any]:
        """The fields before the outcome definitions (for the template)."""
        outcome = ("indicator_", "desired_change_", "causal_effect_", "baseline_share_")
        return [self[name] for name in self.fields if not name.startswith(outcome)]

    def outcome_slots(self) -> list[list[Any]]:
        """The outcome fields grouped per slot (for the template)."""
        return [
            [
                self[f"{name}_{slot}"]
                for name in ("indicator", "desired_change", "causal_effect", "baseline_share")
            ]
            for slot in range(OUTCOME_SLOTS)
        ]

    def outcomes(self) -> list[dict[str, Any]]:
        """Outcome definitions as the service wants them (the baseline as a share 0–1)."""
        found = []
        for slot in range(OUTCOME_SLOTS):
            indicator = self.cleaned_data.get(f"indicator_{slot}")
            change = self.cleaned_data.get(f"desired_change_{slot}")
            effect = self.cleaned_data.get(f"causal_effect_{slot}")
            if not (indicator or change or effect):
                continue
            baseline = self.cleaned_data.get(f"baseline_share_{slot}")
            found.append(
                {
                    "indicator": indicator,
                    "desired_change": change,
                    "causal_effect": effect,
                    "baseline_share": None if baseline is None else baseline / 100,
                }
            )
        return found


class IndicatorChoiceField(forms.ModelChoiceField):
    """An indicator of the library, named in the active language."""

    def label_from_instance(self, obj: Any) -> str:
        return labels.indicator_name(obj)


class MemberForm(forms.Form):
    """One member of the constellation: its name and what kind of party it is."""

    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("Kind of party"), required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("— choose —")), *labels.member_kind_choices()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("name") and not data.get("kind"):
            self.add_error("kind", _("Choose the kind of party."))
        if data.get("kind") and not (data.get("name") or "").strip():
            self.add_error("name", _("Write the member's name."))
        return data


class BaseMemberFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        if len(self.members()) < 2:
            raise forms.ValidationError(
                _(
                    "Cross-sector cooperation is a base criterion: name at least two "
                    "cooperating parties."
                ),
                code="members",
            )

    def members(self) -> list[dict[str, str]]:
        """Members as the service wants them (empty rows left out)."""
        return [
            {"name": form.cleaned_data["name"].strip(), "kind": form.cleaned_data["kind"]}
            for form in self.forms
            if form.cleaned_data.get("name")
        ]


MemberFormSet = forms.formset_factory(MemberForm, formset=BaseMemberFormSet, extra=4)


class ScreeningForm(forms.Form):
    qualified = _yes_or_no(
        _("Decision"),
        ("yes", _("Qualified for deep analysis")),
        ("no", _("Not qualified")),
    )
    strengths = forms.CharField(label=_("Strengths"), widget=TEXTAREA)
    weaknesses = forms.CharField(label=_("Weaknesses and areas to improve"), widget=TEXTAREA)


class ReviewForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), widget=TEXTAREA, required=False)

    def __init__(self, *args: Any, criteria: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        scores = self.fields.pop("comment")
        for criterion in self.criteria:
            # No score is chosen for the reviewer: an empty choice, and a choice is required.
            self.fields[f"score_{criterion.code}"] = forms.TypedChoiceField(
                label=labels.bilingual(criterion.name),
                coerce=int,
                choices=[("", _("— choose a score —")), *[(str(i), str(i)) for i in SCORES]],
                help_text=labels.criterion_help(criterion),
                error_messages={"required": _("Choose a score from 0 to 5.")},
            )
        self.fields["comment"] = scores

    def scores(self) -> dict[str, int]:
        return {c.code: self.cleaned_data[f"score_{c.code}"] for c in self.criteria}


class SelectionForm(forms.Form):
    applications = forms.MultipleChoiceField(
        label=_("Constellations to select"), widget=forms.CheckboxSelectMultiple, required=False
    )
    reasons = forms.CharField(label=_("Reasons for the decision"), widget=TEXTAREA)

    def __init__(self, *args: Any, ranked: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["applications"].choices = [
            (str(r.application.pk), r.application.constellation_name) for r in ranked
        ]
        if not self.is_bound:
            self.initial["applications"] = [str(r.application.pk) for r in ranked if r.proposed]


class ReportForm(forms.Form):
    period_start = forms.DateField(
        label=_("Period from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(
        label=_("Period to"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reported_costs_to_date = NumberField(
        label=_("Reported costs to date (SEK)"), min_value=0, decimal_places=2, max_digits=14
    )
    is_baseline = forms.BooleanField(label=_("This is the baseline"), required=False)

    def __init__(self, *args: Any, indicators: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.indicators = list(indicators)
        for indicator in self.indicators:
            name = labels.indicator_name(indicator)
            self.fields[f"n_{indicator.code}"] = CountField(
                min_value=1,
                label=_("%(indicator)s: individuals in the target group (n)") % {"indicator": name},
            )
            self.fields[f"count_{indicator.code}"] = CountField(
                min_value=0,
                label=_("%(indicator)s: individuals meeting the indicator") % {"indicator": name},
            )

    def lines(self) -> list[dict[str, Any]]:
        return [
            {
                "indicator": i,
                "n": self.cleaned_data[f"n_{i.code}"],
                "count": self.cleaned_data[f"count_{i.code}"],
            }
            for i in self.indicators
        ]


class SettleForm(forms.Form):
    year = forms.TypedChoiceField(label=_("Budget year of the payment"), coerce=int)

    def __init__(self, *args: Any, years: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(str(y), str(y)) for y in years]


class TerminateForm(forms.Form):
    reason = forms.CharField(label=_("Reason for ending the outcome financing"), widget=TEXTAREA)


class CallForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    description = forms.CharField(label=_("Description"), widget=TEXTAREA)
    opens_on = forms.DateField(label=_("Opens"), widget=forms.DateInput(attrs={"type": "date"}))
    deadline = forms.DateField(label=_("Deadline"), widget=forms.DateInput(attrs={"type": "date"}))
    outcome_payment_frame = NumberField(
        label=_("Frame for outcome payments (SEK)"), min_value=0, decimal_places=2, max_digits=14
    )
    implementation_start_year = CountField(label=_("Implementation from (year)"))
    implementation_end_year = CountField(label=_("Implementation to (year)"))
    documents = forms.CharField(
        label=_("Links to the call's documents"),
        widget=TEXTAREA,
        required=False,
        help_text=_("One web address (https://…) per line."),
    )

    def clean_documents(self) -> str:
        text: str = self.cleaned_data["documents"]
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip() and not link_is_safe(line.strip()):
                raise forms.ValidationError(
                    _("Line %(line)d is not an http:// or https:// link."),
                    code="document_link",
                    params={"line": number},
                )
        return text


BASE = "base"
SCORED = "scored"


class CriterionForm(forms.Form):
    """One criterion of a call: its name, what it is for and its weight."""

    name = forms.CharField(label=_("Criterion"), max_length=200, required=False)
    description = forms.CharField(label=_("What the reviewers look for"), required=False)
    weight = NumberField(
        label=_("Weight"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=4,
        decimal_places=2,
        initial=Decimal(1),
        help_text=with_figures(_("For example %(one)s or %(decimal)s."), one="1", decimal="1.5"),
    )
    kind = forms.ChoiceField(
        label=_("Used for"),
        required=False,
        initial=SCORED,
        choices=[
            (SCORED, _("Scoring by the reviewers")),
            (BASE, _("Base criterion of the screening (and scored)")),
        ],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("name") and data.get("weight") is None and "weight" not in self.errors:
            self.add_error(
                "weight",
                with_figures(
                    _("Weight: write a number, for example %(one)s or %(decimal)s."),
                    one="1",
                    decimal="1.5",
                ),
            )
        return data


class BaseCriterionFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.criteria():
            raise forms.ValidationError(_("A call needs at least one criterion."), code="criteria")

    def criteria(self) -> list[dict[str, Any]]:
        """Criteria as the service wants them, each with a code derived from its name."""
        found: list[dict[str, Any]] = []
        codes: set[str] = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", {})
            if not (data.get("name") or "").strip():
                continue
            code = criterion_code(data["name"], codes)
            codes.add(code)
            found.append(
                {
                    "code": code,
                    "name": data["name"].strip(),
                    "description": data.get("description") or "",
                    "weight": data["weight"],
                    "is_base": data.get("kind") == BASE,
                }
            )
        return found


CriterionFormSet = forms.formset_factory(CriterionForm, formset=BaseCriterionFormSet, extra=3)


def criterion_code(name: str, taken: set[str]) -> str:
    """A code for a criterion from its name: ``Tvärsektoriell samverkan`` →
    ``tvarsektoriell_samverkan``; a second criterion of the same name gets ``_2``."""
    base = slugify(name).replace("-", "_")[:50] or "criterion"
    code, number = base, 1
    while code in taken:
        number += 1
        code = f"{base}_{number}"
    return code


# Phase 3, phase 4 and phase 5 (deep_analysis.py, follow_up.py).

DATE = forms.DateInput(attrs={"type": "date"})


class ConflictForm(forms.Form):
    has_conflict = _yes_or_no(
        _("Conflict of interest"),
        ("no", _("I have no conflict of interest in this application")),
        ("yes", _("I have a conflict of interest and do not score")),
    )
    description = forms.CharField(
        label=_("Describe the conflict of interest"), widget=TEXTAREA, required=False
    )


class DeliverableForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"))
    content = forms.CharField(label=_("Content"), widget=TEXTAREA, required=False)
    owner = forms.CharField(label=_("Owner"), max_length=200, required=False)
    due_on = forms.DateField(label=_("Due"), widget=DATE, required=False)

    def __init__(self, *args: Any, admin: bool, **kwargs: Any):
        from utfall.platform.fund.models import DeliverableStatus

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = DeliverableStatus.choices
        if not admin:
            del self.fields["owner"], self.fields["due_on"]


class PreventionForm(forms.Form):
    project_leader = forms.CharField(label=_("Local project leader"), max_length=200)
    universal = forms.CharField(label=_("Universal prevention"), widget=TEXTAREA)
    selective = forms.CharField(label=_("Selective prevention"), widget=TEXTAREA)
    indicated = forms.CharField(label=_("Indicated prevention"), widget=TEXTAREA)


class OutcomeDefinitionForm(forms.Form):
    desired_change = forms.CharField(label=_("Desired change"), widget=TEXTAREA)
    indicator = forms.ModelChoiceField(label=_("Indicator"), queryset=Indicator.objects.all())
    causal_effect = forms.CharField(label=_("Causal effect: how it is estimated"), widget=TEXTAREA)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["indicator"].label_from_instance = lambda i: labels.bilingual(i.name)


class Phase3DecisionForm(forms.Form):
    reasons = forms.CharField(label=_("Reasons for the decision"), widget=TEXTAREA)

    def __init__(self, *args: Any, analyses: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.analyses = list(analyses)
        for analysis in self.analyses:
            pk = analysis.application_id
            self.fields[f"financed_{pk}"] = _yes_or_no(
                analysis.application.constellation_name,
                ("yes", _("Outcome financing")),
                ("no", _("Not financed")),
            )
            self.fields[f"why_{pk}"] = forms.CharField(
                label=_("Reasons (not financed)"), widget=TEXTAREA, required=False
            )
            self.fields[f"improve_{pk}"] = forms.CharField(
                label=_("Areas to improve (not financed)"), widget=TEXTAREA, required=False
            )

    def financed(self) -> list[int]:
        data = self.cleaned_data
        return [a.application_id for a in self.analyses if data[f"financed_{a.application_id}"]]

    def feedback(self) -> dict[int, tuple[str, str]]:
        return {
            a.application_id: (
                self.cleaned_data[f"why_{a.application_id}"],
                self.cleaned_data[f"improve_{a.application_id}"],
            )
            for a in self.analyses
            if not self.cleaned_data[f"financed_{a.application_id}"]
        }


class SupportCostsForm(forms.Form):
    period_end = forms.DateField(label=_("Period to"), widget=DATE)
    costs = NumberField(
        label=_("The project leader's costs of the period (SEK)"),
        min_value=0,
        decimal_places=2,
        max_digits=14,
    )


class SupportStatementForm(forms.Form):
    period_start = forms.DateField(label=_("Period from"), widget=DATE)
    period_end = forms.DateField(label=_("Period to"), widget=DATE)


class FidelityForm(forms.Form):
    reviewed_on = forms.DateField(label=_("Reviewed on"), widget=DATE)
    rating = forms.ChoiceField(label=_("Fidelity"))
    findings = forms.CharField(label=_("Findings"), widget=TEXTAREA)
    actions = forms.CharField(label=_("Agreed actions"), widget=TEXTAREA, required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        from utfall.platform.fund.models import FidelityRating

        super().__init__(*args, **kwargs)
        self.fields["rating"].choices = FidelityRating.choices


class FairTerminateForm(forms.Form):
    reason = forms.CharField(label=_("Reasons for ending the outcome financing"), widget=TEXTAREA)
    effort = forms.ChoiceField(label=_("The constellation's effort"))
    support_used = NumberField(
        label=_("Support used (SEK)"), min_value=0, decimal_places=2, max_digits=14
    )
    repayment = NumberField(
        label=_("Repayment for insufficient effort (SEK)"),
        min_value=0,
        decimal_places=2,
        max_digits=14,
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any):
        from utfall.platform.fund.models import Effort

        super().__init__(*args, **kwargs)
        self.fields["effort"].choices = Effort.choices


class FollowOnForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"))
    description = forms.CharField(label=_("Description"), widget=TEXTAREA)
    partner = forms.CharField(label=_("With"), max_length=200, required=False)
    starts_on = forms.DateField(label=_("Starts"), widget=DATE)

    def __init__(self, *args: Any, **kwargs: Any):
        from utfall.platform.fund.models import FollowOnKind

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = FollowOnKind.choices
