"""Forms of the fund pages: parsing what a person typed; the rules are in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from utfall.platform.fund.models import Indicator
from utfall.platform.fund.services import MEMBER_KINDS
from utfall.platform.links import link_is_safe

OUTCOME_SLOTS = 3
TEXTAREA = forms.Textarea(attrs={"rows": 3})


class ApplicationForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=None, label=_("Lead organisation"))
    constellation_name = forms.CharField(label=_("Name of the constellation"), max_length=200)
    members = forms.CharField(
        label=_("Members of the constellation"),
        widget=TEXTAREA,
        help_text=_("One per line: name; kind (%(kinds)s).") % {"kinds": ", ".join(MEMBER_KINDS)},
    )
    needs_analysis = forms.CharField(
        label=_("Needs analysis and problem formulation"), widget=TEXTAREA
    )
    target_group = forms.CharField(label=_("Target group"), widget=TEXTAREA)
    theory_of_change = forms.CharField(label=_("Theory of change"), widget=TEXTAREA)
    evaluation_design = forms.CharField(label=_("Evaluation design"), widget=TEXTAREA)
    readiness = forms.CharField(
        label=_("Organisational readiness"), widget=TEXTAREA, required=False
    )
    budget_total = forms.DecimalField(label=_("Total budget (SEK)"), min_value=0, decimal_places=2)
    co_financing = forms.DecimalField(
        label=_("Own and co-financing (SEK)"), min_value=0, decimal_places=2
    )
    requested_outcome_payment = forms.DecimalField(
        label=_("Outcome payment applied for (SEK)"),
        min_value=0,
        decimal_places=2,
        help_text=_("At most half of the budget."),
    )

    def __init__(self, *args: Any, organisations: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        for slot in range(OUTCOME_SLOTS):
            required = slot == 0
            self.fields[f"indicator_{slot}"] = forms.ModelChoiceField(
                queryset=Indicator.objects.all(),
                required=required,
                label=_("Outcome %(n)s: indicator (from the library)") % {"n": slot + 1},
            )
            self.fields[f"desired_change_{slot}"] = forms.CharField(
                required=required,
                label=_("Outcome %(n)s: desired change") % {"n": slot + 1},
            )
            self.fields[f"causal_effect_{slot}"] = forms.CharField(
                required=required,
                label=_("Outcome %(n)s: causal effect (how it is estimated)") % {"n": slot + 1},
            )
            self.fields[f"baseline_share_{slot}"] = forms.DecimalField(
                required=False,
                min_value=0,
                max_value=1,
                decimal_places=4,
                label=_("Outcome %(n)s: baseline share (0–1)") % {"n": slot + 1},
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

    def members_list(self) -> list[dict[str, str]]:
        """Members as the service wants them."""
        members = []
        for line in self.cleaned_data["members"].splitlines():
            if not line.strip():
                continue
            name, _sep, kind = line.partition(";")
            members.append({"name": name.strip(), "kind": kind.strip()})
        return members

    def outcomes(self) -> list[dict[str, Any]]:
        """Outcome definitions as the service wants them."""
        found = []
        for slot in range(OUTCOME_SLOTS):
            indicator = self.cleaned_data.get(f"indicator_{slot}")
            change = self.cleaned_data.get(f"desired_change_{slot}")
            effect = self.cleaned_data.get(f"causal_effect_{slot}")
            if not (indicator or change or effect):
                continue
            found.append(
                {
                    "indicator": indicator,
                    "desired_change": change,
                    "causal_effect": effect,
                    "baseline_share": self.cleaned_data.get(f"baseline_share_{slot}"),
                }
            )
        return found


class ScreeningForm(forms.Form):
    qualified = forms.TypedChoiceField(
        label=_("Decision"),
        coerce=lambda v: v == "yes",
        choices=[("yes", _("Qualified for deep analysis")), ("no", _("Not qualified"))],
    )
    strengths = forms.CharField(label=_("Strengths"), widget=TEXTAREA)
    weaknesses = forms.CharField(label=_("Weaknesses and areas to improve"), widget=TEXTAREA)


class ReviewForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), widget=TEXTAREA, required=False)

    def __init__(self, *args: Any, criteria: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        for criterion in self.criteria:
            self.fields[f"score_{criterion.code}"] = forms.TypedChoiceField(
                label=criterion.name,
                coerce=int,
                choices=[(str(i), str(i)) for i in range(6)],
            )

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
    reported_costs_to_date = forms.DecimalField(
        label=_("Reported costs to date (SEK)"), min_value=0, decimal_places=2
    )
    is_baseline = forms.BooleanField(label=_("This is the baseline"), required=False)

    def __init__(self, *args: Any, indicators: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.indicators = list(indicators)
        for indicator in self.indicators:
            self.fields[f"n_{indicator.code}"] = forms.IntegerField(
                min_value=1,
                label=_("%(indicator)s: individuals (n)") % {"indicator": indicator.code},
            )
            self.fields[f"count_{indicator.code}"] = forms.IntegerField(
                min_value=0,
                label=_("%(indicator)s: meeting the indicator") % {"indicator": indicator.code},
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
    outcome_payment_frame = forms.DecimalField(
        label=_("Frame for outcome payments (SEK)"), min_value=0, decimal_places=2
    )
    implementation_start_year = forms.IntegerField(label=_("Implementation from (year)"))
    implementation_end_year = forms.IntegerField(label=_("Implementation to (year)"))
    criteria = forms.CharField(
        label=_("Criteria"),
        widget=TEXTAREA,
        help_text=_(
            "One per line: code; name; weight; base (write base for a base criterion of the "
            "screening)."
        ),
    )
    documents = forms.CharField(
        label=_("Documents"), widget=TEXTAREA, required=False, help_text=_("One link per line.")
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

    def clean_criteria(self) -> list[dict[str, Any]]:
        criteria = []
        for number, line in enumerate(self.cleaned_data["criteria"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split(";")]
            if len(parts) < 2 or not parts[0] or not parts[1]:
                raise forms.ValidationError(
                    _("Line %(n)s: write code; name; weight; base") % {"n": number}
                )
            weight = parts[2] if len(parts) > 2 and parts[2] else "1"
            try:
                float(weight)
            except ValueError:
                raise forms.ValidationError(
                    _("Line %(n)s: the weight is not a number") % {"n": number}
                ) from None
            criteria.append(
                {
                    "code": parts[0],
                    "name": parts[1],
                    "weight": weight,
                    "is_base": len(parts) > 3 and parts[3].lower() in ("base", "bas"),
                }
            )
        return criteria
