"""Forms of the settlement pages: parsing only, the rules are in the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from utfall.core.contracts.model import NUMERIC_TYPES
from utfall.platform.web.forms import NumberField
from utfall.services.formatting import language_of


class StartForm(forms.Form):
    """Period, the inputs the evaluator enters (value and reason), and a correction's reason.

    A number is typed as a person writes it (``10 000 000,00``, ``10000000``, ``1,5``,
    ``1.5``; :class:`~utfall.platform.web.forms.NumberField`); a value that cannot be read,
    or does not fit the input's type or bounds, is refused at its field, naming the input
    by its label. ``prefill`` maps an input to ``(value, reason)`` where the contract's
    data already give it (the cost reports): shown filled in, still editable.
    """

    period_start = forms.DateField(
        label=_("Period from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(
        label=_("Period to"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self,
        *args: Any,
        manual: list[Any],
        correcting: bool = False,
        labels: dict[str, str] | None = None,
        prefill: dict[str, tuple[Any, str]] | None = None,
        helps: dict[str, str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.manual = [term.name for term in manual]
        self.terms = {term.name: term for term in manual}
        self.labels = {term.name: (labels or {}).get(term.name, term.name) for term in manual}
        self.prefilled = set()
        for term in manual:
            label = self.labels[term.name]
            if term.type == "boolean":
                value: forms.Field = forms.ChoiceField(
                    choices=(("true", _("yes")), ("false", _("no")))
                )
            elif term.type in NUMERIC_TYPES:
                value = NumberField(
                    error_messages={
                        "invalid": _("%(label)s: enter a number, for example 10 000 000,00 or 1,5.")
                        % {"label": label},
                        "required": _("%(label)s: enter a value.") % {"label": label},
                    }
                )
            elif term.type == "choice":
                value = forms.ChoiceField(choices=[(c, c) for c in term.choices or ()])
            else:
                value = forms.CharField(max_length=40)
            value.label = label
            value.help_text = (helps or {}).get(term.name) or " ".join(
                str(term.description or "").split()
            )
            self.fields[f"value_{term.name}"] = value
            self.fields[f"reason_{term.name}"] = forms.CharField(
                label=_("Reason for %(name)s (where the value comes from)") % {"name": label},
                max_length=500,
                error_messages={
                    "required": _("%(label)s: give the reason for the value (its source).")
                    % {"label": label}
                },
            )
            if prefill and term.name in prefill:
                figure, why = prefill[term.name]
                self.fields[f"value_{term.name}"].initial = figure
                self.fields[f"reason_{term.name}"].initial = why
                self.prefilled.add(term.name)
        if correcting:
            self.fields["correction_reason"] = forms.CharField(
                label=_("Reason for the correction"), widget=forms.Textarea(attrs={"rows": 2})
            )

    def manual_inputs(self) -> dict[str, tuple[str, str]]:
        """Input name → (value, reason); numbers as plain decimal text (``10000000.00``)."""
        data = self.cleaned_data
        return {n: (_plain(data[f"value_{n}"]), data[f"reason_{n}"]) for n in self.manual}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("period_start"), data.get("period_end")
        if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
            self.add_error("period_end", _("The period ends before it starts."))
        for name, term in self.terms.items():
            figure = data.get(f"value_{name}")
            if figure is None or term.type not in NUMERIC_TYPES:
                continue
            problem = value_problem(figure, term, self.labels[name])
            if problem:
                self.add_error(f"value_{name}", problem)
        return data

    def add_findings(self, findings: list[Any]) -> list[Any]:
        """Put each finding about an entered input at its field (in words, with the input's
        label); the findings about anything else are returned."""
        rest = []
        for finding in findings:
            name = getattr(finding, "path", None)
            if name in self.terms and f"value_{name}" in self.fields:
                field = f"reason_{name}" if finding.code == "reason-missing" else f"value_{name}"
                label = self.labels[name]
                message = FINDING_MESSAGES.get(finding.code)
                self.add_error(
                    field,
                    (message % {"label": label})
                    if message
                    else _("%(label)s: the value does not fit the contract.") % {"label": label},
                )
            else:
                rest.append(finding)
        return rest


FINDING_MESSAGES = {
    "input-missing": _("%(label)s: enter a value."),
    "reason-missing": _("%(label)s: give the reason for the value (its source)."),
    "bad-input": _("%(label)s: the value does not fit the contract."),
    "not-a-number": _("%(label)s: enter a number, for example 10 000 000,00 or 1,5."),
}


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def value_problem(figure: Decimal, term: Any, label: str) -> str | None:
    """Why ``figure`` does not fit the input ``term`` (in words, naming ``label``), or None."""
    from utfall.services.formatting import number

    language = language_of(get_language())
    if term.type == "money" and figure != figure.quantize(Decimal("0.01")):
        return _("%(label)s: money has at most two decimals (whole öre).") % {"label": label}
    if term.type == "count" and (figure != figure.to_integral_value() or figure < 0):
        return _("%(label)s: a count is a whole number of 0 or more.") % {"label": label}
    if term.minimum is not None and figure < term.minimum:
        return _("%(label)s: the value is below the least allowed, %(minimum)s.") % {
            "label": label,
            "minimum": number(term.minimum, language),
        }
    if term.maximum is not None and figure > term.maximum:
        return _("%(label)s: the value is above the most allowed, %(maximum)s.") % {
            "label": label,
            "maximum": number(term.maximum, language),
        }
    return None


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}))


class SignForm(forms.Form):
    totp_code = forms.CharField(
        label=_("Two-factor code (TOTP)"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text=_("Signing off needs a fresh code from your authenticator app."),
    )


class FinancePlanForm(forms.Form):
    file = forms.FileField(label=_("Finance plan (YAML)"))


class SimulateForm(forms.Form):
    """How many scenarios, and the seed; the distributions are :class:`DistributionForm` rows."""

    size = forms.IntegerField(
        label=_("Scenarios"), min_value=100, max_value=1_000_000, initial=20_000
    )
    seed = forms.IntegerField(label=_("Seed"), initial=2016)


DISTRIBUTION_KINDS = (
    ("normal", _("normal (mean and standard deviation)")),
    ("uniform", _("uniform (lowest and highest)")),
    ("fixed", _("fixed value")),
)


class DistributionForm(forms.Form):
    """One input of the contract and how its value is drawn in the simulation."""

    name = forms.ChoiceField(label=_("Input"))
    kind = forms.ChoiceField(label=_("Distribution"), choices=DISTRIBUTION_KINDS)
    first = NumberField(
        label=_("Mean, lowest or value"),
        required=False,
    )
    second = NumberField(
        label=_("Standard deviation or highest"),
        required=False,
    )

    def __init__(self, *args: Any, inputs: list[tuple[str, str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        name = self.fields["name"]
        assert isinstance(name, forms.ChoiceField)
        name.choices = list(inputs or [])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, first, second = data.get("kind"), data.get("first"), data.get("second")
        if first is None:
            return data  # an empty row: the input is fixed from the statement, if there is one
        if kind in ("normal", "uniform") and second is None:
            self.add_error(
                "second",
                _("Enter the standard deviation.")
                if kind == "normal"
                else _("Enter the highest value."),
            )
        elif kind == "normal" and second is not None and second < 0:
            self.add_error("second", _("A standard deviation is 0 or more."))
        elif kind == "uniform" and second is not None and second < first:
            self.add_error("second", _("The highest value is below the lowest."))
        return data


class BaseDistributionFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, inputs: list[tuple[str, str]] | None = None, **kwargs: Any):
        self.inputs = inputs or []
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "inputs": self.inputs}

    @property
    def empty_form(self) -> Any:
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            inputs=self.inputs,
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form

    def clean(self) -> None:
        seen: set[str] = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("first") is None:
                continue
            if data["name"] in seen:
                form.add_error("name", _("This input has a distribution already."))
            seen.add(data["name"])

    def distributions(self) -> list[Any]:
        """The filled rows as distributions of the Monte Carlo."""
        from utfall.platform.settlements.overview import Distribution

        rows = []
        for form in self.forms:
            data = form.cleaned_data
            if data.get("first") is None:
                continue
            second = None if data["kind"] == "fixed" else data.get("second")
            rows.append(Distribution(data["name"], data["kind"], data["first"], second))
        return rows


DistributionFormSet = forms.formset_factory(
    DistributionForm, formset=BaseDistributionFormSet, extra=0, max_num=200
)
