"""The fund services' problems in the active language, put next to what caused them.

The services raise :class:`~utfall.errors.UserError` and
:class:`~utfall.errors.FindingsError` with English messages (their tests and the API
match on them). A page shows each message translated, with its figures in the formatting
layer's form, and a finding under the field it names; what this module does not know is
shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from utfall.errors import FindingsError, UserError
from utfall.platform.i18n import active_language as _language
from utfall.services import formatting

__all__ = ["attach", "translated"]

_EXACT = {
    text: gettext_lazy(text)
    for text in (
        "the deadline is before the call opens",
        "the frame must be positive",
        "a call needs criteria",
        "this part of the application is required",
        "a constellation is led by a municipality, region or national agency",
        "cross-sector cooperation is a base criterion: name at least two cooperating parties",
        "the budget must be positive",
        "amounts cannot be negative",
        "own and co-financing plus the outcome payment must cover the budget",
        "at least one outcome definition is needed",
        "the application has already been screened",
        "written feedback is required for every applicant",
        "only applications qualified for deep analysis are scored",
        "a score from 0 to 5 is needed",
        "the selection of this call has already been decided",
        "a selection decision needs its reasons",
        "the fund needs its rate-card contract and an evaluator before selecting: each "
        "selected constellation is paid under an instance of the contract",
        "only applications qualified for deep analysis can be selected",
        "the constellation is already terminated",
        "a termination needs its reason",
        "a terminated constellation no longer reports",
        "the constellation has no contract to report under",
        "the period ends before it starts",
        "costs cannot be negative",
        "costs to date cannot fall below the last report's",
        "the constellation already has a baseline",
        "report the baseline first (common follow-up protocol)",
        "the baseline is not paid on; it is what later reports are compared to",
        "the report has already been paid",
        "a terminated constellation is not paid",
        "the report has no statement yet: the evaluator evaluates it first",
        "the statement's costs are not the report's; correct the statement",
        "the report already has a statement; correct it in the settlement workflow or "
        "discard the draft first",
        "the earlier reports must be paid first (each settles on figures to date)",
        "the constellation has no contract to settle its reports under",
        "the call cannot be created",
        "the screening needs written feedback",
        "the review is incomplete",
        "a link must start with http:// or https://",
        "a link must name a host",
        "a link may not contain spaces or control characters",
        "the link cannot be read",
        # Phase 3, 4 and 5 and the reviewers (deep_analysis.py, follow_up.py).
        "the project leader's costs of this period are already reported",
        "the project leader's costs of this period are not reported yet",
        "support for this period has already been paid",
        "only an application qualified for deep analysis enters phase 3",
        "the deep analysis of this application has already started",
        "the deep analysis is decided; it no longer changes",
        "a done deliverable states what it delivered",
        "a deliverable has an owner",
        "the deliverable was not saved",
        "every level of the outcome definition is needed",
        "the outcome definition was not saved",
        "no application of this call is in deep analysis",
        "qualified but not in deep analysis",
        "the decision needs its reasons",
        "the phase-3 decision cannot be taken yet",
        "the constellation has no support contract (financed after phase 3)",
        "support is paid only while the constellation is active",
        "the statement is not one of the constellation's support contract",
        "only a final statement is paid: the evaluator must sign it off first",
        "the support of this statement has already been paid",
        "you have already declared for this application",
        "describe the conflict of interest",
        "describe the conflict",
        "declare any conflict of interest before scoring the application",
        "a reviewer with a conflict of interest does not score the application",
        "state the findings",
        "an implementation below plan needs actions",
        "the follow-up was not saved",
        "a termination needs its reasons",
        "a constellation that did everything it could repays nothing (fairness rule)",
        "a repayment cannot be negative",
        "only an active constellation's contract ends",
        "phase 5 follows a constellation after its contract has ended",
        "describe the activity",
        "the activity was not saved",
    )
}

_AMOUNT = r"(-?\d+(?:\.\d+)?)"


def _money(text: str) -> str:
    return formatting.money(Decimal(text), _language())


def _day(text: str) -> str:
    return formatting.date(text, _language())


_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"^implementation years must lie in the budget \((\d{4})–(\d{4})\)$"),
        lambda m: (
            _("The implementation years must lie in the budget (%(first)s–%(last)s).")
            % {"first": m[1], "last": m[2]}
        ),
    ),
    (
        re.compile(r"^the outcome payment applied for may be at most (\d+)% of the budget$"),
        lambda m: (
            _("The outcome payment applied for may be at most %(share)s of the budget.")
            % {"share": formatting.percent(Decimal(m[1]) / 100, _language(), places=0)}
        ),
    ),
    (
        re.compile(r"^member (\d+): a name and a kind \(.*\) are needed$"),
        lambda m: _("Member %(n)s: a name and a kind of party are needed.") % {"n": m[1]},
    ),
    (
        re.compile(r"^outcome (\d+): the level '(\w+)' is missing$"),
        lambda m: _("Outcome %(n)s: this level is missing.") % {"n": m[1]},
    ),
    (
        re.compile(r"^outcome (\d+): the indicator is chosen twice$"),
        lambda m: _("Outcome %(n)s: the indicator is chosen twice.") % {"n": m[1]},
    ),
    (
        re.compile(r"^the application has (\d+) problem\(s\)$"),
        lambda m: _("The application has %(n)s problem(s): see the marked fields.") % {"n": m[1]},
    ),
    (
        re.compile(r"^the report has (\d+) problem\(s\)$"),
        lambda m: _("The report has %(n)s problem(s): see the marked fields.") % {"n": m[1]},
    ),
    (
        re.compile(r"^the call '(.+)' does not take applications now \(open (\S+)–(\S+)\)$"),
        lambda m: (
            _("The call does not take applications now (open %(start)s–%(end)s).")
            % {"start": _day(m[2]), "end": _day(m[3])}
        ),
    ),
    (
        re.compile(
            rf"^the selected constellations apply for {_AMOUNT} SEK, above the call's "
            rf"frame of {_AMOUNT} SEK$"
        ),
        lambda m: (
            _(
                "The selected constellations apply for %(total)s, above the call's frame "
                "of %(frame)s."
            )
            % {"total": _money(m[1]), "frame": _money(m[2])}
        ),
    ),
    (
        re.compile(r"^the period must start after the last report \((\S+)\)$"),
        lambda m: _("The period must start after the last report (%(day)s).") % {"day": _day(m[1])},
    ),
    (
        re.compile(
            r"^only a final statement is paid: the evaluator must sign the statement "
            r"off \(it is (.+)\)$"
        ),
        lambda m: _(
            "Only a final statement is paid: the evaluator must sign the statement off first."
        ),
    ),
    (
        re.compile(
            rf"^the statement counts {_AMOUNT} SEK paid before, the fund has paid "
            rf"{_AMOUNT} SEK: the evaluator corrects the statement$"
        ),
        lambda m: (
            _(
                "The statement counts %(counted)s paid before, the fund has paid %(paid)s: "
                "the evaluator corrects the statement."
            )
            % {"counted": _money(m[1]), "paid": _money(m[2])}
        ),
    ),
    (
        re.compile(r"^(\S+): need 0 ≤ count ≤ n and n > 0$"),
        lambda m: _("Those meeting the indicator cannot be more than the individuals (n)."),
    ),
    (
        re.compile(r"^(.+): (.+) is not done$"),
        lambda m: (
            _("%(constellation)s: not done yet: %(missing)s.")
            % {"constellation": m[1], "missing": _(m[2])}
        ),
    ),
    (
        re.compile(
            r"^(.+): a constellation not financed gets the reasons and the areas to improve "
            r"in writing$"
        ),
        lambda m: (
            _(
                "%(constellation)s: a constellation not financed gets the reasons and the "
                "areas to improve in writing."
            )
            % {"constellation": m[1]}
        ),
    ),
    (
        re.compile(r"^indicator (\S+) is not reported$"),
        lambda m: _("Every outcome of the constellation is reported."),
    ),
]


def translated(message: Any) -> str:
    """A service's English message in the active language (as it is if unknown)."""
    text = str(message)
    if text in _EXACT:
        return _capital(str(_EXACT[text]))
    for pattern, render in _PATTERNS:
        match = pattern.match(text)
        if match:
            return render(match)
    return _capital(text)


def _capital(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ")")) else f"{text}."


def attach(
    form: forms.Form,
    error: UserError,
    *,
    fields: Callable[[str], str | None] | None = None,
    extra: list[str] | None = None,
) -> None:
    """Put a service's problem on the form: each finding under the field it names (or the
    field ``fields`` maps its name to), the rest above the form's button. ``extra``
    collects the findings whose field lives outside the form (e.g. a formset's)."""
    if not form.is_bound:
        return
    if not hasattr(form, "cleaned_data"):
        form.full_clean()
    findings = error.findings if isinstance(error, FindingsError) else []
    placed = False
    for finding in findings:
        name = finding.field_name or ""
        target = fields(name) if fields else name
        message = translated(finding.message)
        if target == "":
            if extra is not None:
                extra.append(message)
                placed = True
                continue
            target = None
        if target is not None and target not in form.fields:
            target = None
        form.add_error(target, message)
        placed = True
    if not placed:
        form.add_error(None, translated(error.message))
