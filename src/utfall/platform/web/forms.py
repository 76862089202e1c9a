"""Forms: parsing and checking what a person typed; no business rules here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from utfall.platform.contracts.models import Role
from utfall.platform.imports.readers import ENCODINGS
from utfall.platform.organisations.models import Organisation
from utfall.services import formatting


class NumberField(forms.DecimalField):
    """A number as a person types it, in Swedish or plain form: ``10 000 000,00``,
    ``10000000``, ``1,5``, ``1.5`` (utfall.services.formatting.parse_number). Shown
    back in the active language's form; the value is a ``Decimal``. What cannot be read
    is refused naming the field, with examples written the page's way."""

    widget = forms.TextInput

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")
        self.widget.attrs.pop("step", None)

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        if not isinstance(value, str):
            return super().to_python(value)
        language = formatting.language_of(get_language())
        try:
            return formatting.parse_number(value, language)
        except formatting.NumberParseError:
            raise forms.ValidationError(
                _("%(field)s: “%(value)s” is not a number. Write it as %(large)s or %(small)s."),
                code="invalid",
                params={
                    "field": self.label or _("The number"),
                    "value": value,
                    "large": formatting.number(Decimal("10000000.00"), language, 2),
                    "small": formatting.number(Decimal("1.5"), language, 1),
                },
            ) from None

    def prepare_value(self, value: Any) -> Any:
        if value in (None, "") or isinstance(value, str):
            return value
        return formatting.number(value, formatting.language_of(get_language()))

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        for key in ("step", "min", "max"):
            attrs.pop(key, None)
        return attrs


class ContractUploadForm(forms.Form):
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), label=_("Commissioning organisation")
    )
    file = forms.FileField(label=_("Contract file (YAML)"))

    def __init__(self, *args: Any, organisations: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations


class ContractVersionForm(forms.Form):
    file = forms.FileField(label=_("New version (YAML)"))
    amendment_reason = forms.CharField(
        label=_("Reason for the amendment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required once the contract is in force."),
    )


class PartyForm(forms.Form):
    """Invite an organisation: the commissioner any role, the financier the evaluator."""

    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.all(), label=_("Organisation")
    )
    role = forms.ChoiceField(choices=Role.choices, label=_("Role"))

    def __init__(self, *args: Any, roles: frozenset[Role] = frozenset(), **kwargs: Any):
        super().__init__(*args, **kwargs)
        if Role.COMMISSIONER in roles:
            choices = Role.choices
        elif Role.FINANCIER in roles:
            choices = [(Role.EVALUATOR.value, Role.EVALUATOR.label)]
        else:
            choices = []
        self.fields["role"].choices = choices


class ImportUploadForm(forms.Form):
    table = forms.ChoiceField(label=_("Table"))
    file = forms.FileField(label=_("File (CSV or XLSX)"))
    encoding = forms.ChoiceField(
        label=_("Text encoding (CSV)"), choices=list(ENCODINGS.items()), initial="utf-8"
    )

    def __init__(self, *args: Any, tables: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["table"].choices = [(table.name, table.label) for table in tables]


class MappingForm(forms.Form):
    """One select per column of the table: which column of the file holds it."""

    def __init__(
        self, *args: Any, columns: list[Any], header: list[str], language: str, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        from utfall.platform.imports.templates import type_text

        choices = [("", _("— not in the file —")), *[(name, name) for name in header]]
        for column in columns:
            label = column.label.text(language)
            if column.required:
                label = f"{label} *"
            self.fields[column.name] = forms.ChoiceField(
                label=label,
                choices=choices,
                required=False,
                help_text=type_text(column),
            )


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
