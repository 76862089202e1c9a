"""Forms of the council pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from utfall.platform.council.models import DecisionKind, DecisionStatus


class DateInput(forms.DateInput):
    input_type = "date"


class MeetingForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    held_on = forms.DateField(label=_("Held on"), widget=DateInput)
    as_of = forms.DateField(
        label=_("Data as of"),
        widget=DateInput,
        help_text=_("The dashboard is frozen with the data up to this day."),
    )
    agenda = forms.CharField(
        label=_("Agenda"), widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    minutes = forms.CharField(
        label=_("Minutes"), widget=forms.Textarea(attrs={"rows": 5}), required=False
    )


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=DecisionKind.choices)
    text = forms.CharField(
        label=_("Decision or recommendation"), widget=forms.Textarea(attrs={"rows": 3})
    )
    owner = forms.CharField(label=_("Owner"), max_length=200)
    due_on = forms.DateField(label=_("Due"), widget=DateInput)


class FollowUpForm(forms.Form):
    decision = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(label=_("Status"), choices=DecisionStatus.choices)
    note = forms.CharField(
        label=_("Follow-up"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
