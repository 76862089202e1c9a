"""Forms of the settlement pages: parsing only, the rules are in the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class StartForm(forms.Form):
    """Period, the inputs the evaluator enters (value and reason), and a correction's reason."""

    period_start = forms.DateField(
        label=_("Period from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(
        label=_("Period to"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, manual: list[Any], correcting: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.manual = [term.name for term in manual]
        for term in manual:
            if term.type == "boolean":
                value: forms.Field = forms.ChoiceField(
                    choices=(("true", _("yes")), ("false", _("no")))
                )
            else:
                value = forms.CharField(max_length=40)
            value.label = term.name
            value.help_text = " ".join(str(term.description or "").split())
            self.fields[f"value_{term.name}"] = value
            self.fields[f"reason_{term.name}"] = forms.CharField(
                label=_("Reason for %(name)s (where the value comes from)") % {"name": term.name},
                max_length=500,
            )
        if correcting:
            self.fields["correction_reason"] = forms.CharField(
                label=_("Reason for the correction"), widget=forms.Textarea(attrs={"rows": 2})
            )

    def manual_inputs(self) -> dict[str, tuple[str, str]]:
        """Input name → (value, reason)."""
        data = self.cleaned_data
        return {n: (data[f"value_{n}"], data[f"reason_{n}"]) for n in self.manual}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("period_start"), data.get("period_end")
        if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
            self.add_error("period_end", _("The period ends before it starts."))
        return data


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
    distributions = forms.CharField(
        label=_("Distributions, one per line"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One input of the contract per line: NAME=normal(MEAN, SD), for example"),
    )
    size = forms.IntegerField(
        label=_("Scenarios"), min_value=100, max_value=1_000_000, initial=100_000
    )
    seed = forms.IntegerField(label=_("Seed"), initial=2016)

    def distribution_list(self) -> list[str]:
        return [
            line.strip() for line in self.cleaned_data["distributions"].splitlines() if line.strip()
        ]
