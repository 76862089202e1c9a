"""Labels of the fund's codes and stored texts in the active language.

The fund's data hold codes (member kinds, budget lines, indicator codes, binding limits)
and a few texts the services and the demo write in English or as ``svenska / English``
pairs (indicator names, phase names, the decision log, the explanation of a payment).
Pages show them through this module: a code by its label, a pair by its half in the
active language, a known text by its translation, and the decision log and payment
explanations rewritten with their figures in the formatting layer's form. A text this
module does not know is shown as stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from utfall.platform.i18n import active_language as _language
from utfall.services import formatting

__all__ = [
    "bilingual",
    "budget_category",
    "criterion_help",
    "decision_reasons",
    "decision_summary",
    "indicator_name",
    "known",
    "member_kind",
    "member_kind_choices",
    "payment_explanation",
]

MEMBER_KINDS = {
    "municipality": gettext_lazy("Municipality"),
    "region": gettext_lazy("Region"),
    "agency": gettext_lazy("National agency"),
    "provider": gettext_lazy("Provider (procured)"),
    "civil_society": gettext_lazy("Civil-society organisation"),
    "financier": gettext_lazy("Financier"),
    "academia": gettext_lazy("University or research institute"),
}

BUDGET_CATEGORIES = {
    "operations": gettext_lazy("The delegation's operations"),
    "agencies": gettext_lazy("Expert agencies (second opinions)"),
    "phase_preparation": gettext_lazy("Phase 1: mandate and anchoring"),
    "phase_call": gettext_lazy("Phase 2: call"),
    "phase_processing": gettext_lazy("Phase 3: deep analysis"),
    "phase_implementation": gettext_lazy("Phase 4: implementation support and outcome payments"),
    "phase_dissemination": gettext_lazy("Phase 5: dissemination"),
}

# Texts the demo and the services store in English; shown translated where known.
KNOWN = {
    text: gettext_lazy(text)
    for text in (
        # Indicators: desired changes and units (demo.INDICATOR_LIBRARY).
        "Good attachment and language development",
        "Children start school with an adequate school language",
        "Pupils attend school; absence is noticed early",
        "All pupils are eligible for an upper-secondary programme",
        "Young adults can support themselves",
        "Fewer young people are drawn into crime",
        "Fewer young people and young adults at risk of crime",
        "Placed children return home and stay home",
        "Placed children succeed in school",
        "Employees stay healthy at work",
        "Actors in the district work towards a shared goal",
        "families",
        "children",
        "pupils",
        "young people",
        "days",
        "milestones",
        "SEK",
        # Sources of the indicators.
        "Seed 003, Bilaga 4 (Case: Förebygga ungdomskriminalitet)",
        # Criteria of the demo call.
        "Needs analysis and a clear problem formulation.",
        "Outcome definitions at three levels with an evaluation design.",
        "Answers to the readiness survey.",
        "Across principals preferred (seed 003).",
        "Covers the prevention triangle; matched against evidence.",
        # Phases (services.PHASES): deliverables and decisions.
        "Delegation with secretariat; agreement with SKR and RISE on practical support",
        "In-depth needs inventory; outcomes with a model for socio-economic valuation",
        "Framework with an overall theory of change; hearings; criteria for taking part",
        "Prioritised need areas with primary outcome definitions",
        "Criteria for taking part",
        "Call inviting constellations to apply",
        "Applications: problem formulation, target groups, outcomes, readiness survey",
        "First screening; written feedback on strengths and weaknesses to every applicant",
        "The call",
        "Feedback to applicants",
        "Which constellations go on to deep analysis",
        "Local project leader and a picture of current capacity",
        "Analysis of local quantitative and qualitative data",
        "Theory of change covering the prevention triangle; evidence matched against it",
        "Locally anchored outcome definitions; implementation and follow-up plans",
        "Common follow-up and evaluation protocol with baseline",
        "Which constellations get outcome financing; reasons to the others",
        "Baseline measurement and test of the follow-up protocol",
        "Six-monthly evaluation of social and economic outcomes",
        "Collaboration forum; extra support where implementation falters",
        "Termination of work that does not meet the agreed criteria",
        "Confirmation of evaluated results; outcome payments",
        "Training material; dissemination call; support to new constellations",
        "Network of project leaders; evaluation of the process",
        "Dissemination call",
        "Recommendation to the government",
        # The follow-up protocol every selected constellation gets (services.selection_decide).
        "Common follow-up protocol: baseline report before implementation, then a report "
        "every six months with, per indicator, the individuals in the target group (n) and "
        "those meeting it (count), and the costs to date.",
    )
}

SEPARATOR = " / "


def bilingual(text: Any) -> str:
    """The half of a ``svenska / English`` text in the active language; another text as
    it is (translated if known)."""
    value = "" if text is None else str(text)
    if SEPARATOR in value:
        swedish, _sep, english = value.partition(SEPARATOR)
        return english.strip() if _language() == "en" else swedish.strip()
    return known(value)


def known(text: Any) -> str:
    """A stored English text in the active language, if this module knows it."""
    value = "" if text is None else str(text)
    return str(KNOWN[value]) if value in KNOWN else value


def member_kind(code: str) -> str:
    """``civil_society`` → ``Civilsamhällesorganisation`` (sv)."""
    return str(MEMBER_KINDS.get(code, code))


def member_kind_choices() -> list[tuple[str, Any]]:
    """The kinds of party a constellation's member can be, with their labels."""
    return list(MEMBER_KINDS.items())


def budget_category(code: str) -> str:
    """A budget line's label (``phase_call`` → ``Fas 2: utlysning``)."""
    return str(BUDGET_CATEGORIES.get(code, code.replace("_", " ")))


def indicator_name(indicator: Any) -> str:
    """An indicator of the library named in the active language."""
    return bilingual(getattr(indicator, "name", indicator))


def criterion_help(criterion: Any) -> str:
    """What a criterion is about, with its weight, for the reviewer's score."""
    weight = formatting.number(criterion.weight.normalize(), _language())
    description = bilingual(criterion.description)
    text = _("Weight %(weight)s.") % {"weight": weight}
    if criterion.is_base:
        text = _("Base criterion of the screening. %(text)s") % {"text": text}
    return f"{description} {text}".strip()


# The decision log and payment explanations: the services' English, rewritten.
_AMOUNT = r"(-?\d+(?:\.\d+)?)"


def _money(text: str) -> str:
    try:
        return formatting.money(Decimal(text), _language())
    except InvalidOperation:
        return text


def _binding(code: str) -> str:
    from utfall.platform.fund.models import OutcomePayment

    return str(OutcomePayment.BINDING_LABELS.get(code, code))


def _day(text: str) -> str:
    return formatting.date(text, _language())


_LIMIT_NAMES = {
    "outcomes": pgettext_lazy("limit", "The verified outcomes"),
    "cost_share": pgettext_lazy("limit", "The share of the reported costs"),
    "year_budget": pgettext_lazy("limit", "The year's budget"),
}
_REASONS = {
    "the verified outcomes: everything they earned and is unpaid is paid": gettext_lazy(
        "the verified outcomes: everything they earned and is unpaid is paid"
    ),
    "the ceiling of the state's share of the constellation's reported costs": gettext_lazy(
        "the ceiling of the state's share of the constellation's reported costs"
    ),
    "what is left of the year's budget; the rest stays due for a later report": gettext_lazy(
        "what is left of the year's budget; the rest stays due for a later report"
    ),
}

Rewrite = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_EXPLANATION: list[Rewrite] = [
    (
        re.compile(
            rf"^outcomes: {_AMOUNT} SEK \(outcome value to date {_AMOUNT} − paid before "
            rf"{_AMOUNT}\)$"
        ),
        lambda m: (
            _("%(limit)s: %(amount)s (outcome value to date %(value)s − paid before %(paid)s)")
            % {
                "limit": _LIMIT_NAMES["outcomes"],
                "amount": _money(m[1]),
                "value": _money(m[2]),
                "paid": _money(m[3]),
            }
        ),
    ),
    (
        re.compile(
            rf"^cost_share: {_AMOUNT} SEK \({_AMOUNT}% of reported costs {_AMOUNT} = "
            rf"{_AMOUNT} − paid before {_AMOUNT}\)$"
        ),
        lambda m: (
            _(
                "%(limit)s: %(amount)s (%(share)s of reported costs %(costs)s = "
                "%(ceiling)s − paid before %(paid)s)"
            )
            % {
                "limit": _LIMIT_NAMES["cost_share"],
                "amount": _money(m[1]),
                "share": formatting.percent(Decimal(m[2]) / 100, _language(), places=0),
                "costs": _money(m[3]),
                "ceiling": _money(m[4]),
                "paid": _money(m[5]),
            }
        ),
    ),
    (
        re.compile(
            rf"^year_budget: {_AMOUNT} SEK \(remaining in the year's budget for this "
            r"constellation\)$"
        ),
        lambda m: (
            _("%(limit)s: %(amount)s (what the year's budget can still pay this constellation)")
            % {"limit": _LIMIT_NAMES["year_budget"], "amount": _money(m[1])}
        ),
    ),
    (
        re.compile(rf"^payment {_AMOUNT} SEK, bound by (.+)$"),
        lambda m: (
            _("Payment %(amount)s, bound by %(reason)s")
            % {"amount": _money(m[1]), "reason": _REASONS.get(m[2], m[2])}
        ),
    ),
]

_SUMMARIES: list[Rewrite] = [
    (
        re.compile(r"^(.+): qualified for deep analysis$"),
        lambda m: _("%(name)s: qualified for deep analysis") % {"name": m[1]},
    ),
    (
        re.compile(r"^(.+): not qualified$"),
        lambda m: _("%(name)s: not qualified") % {"name": m[1]},
    ),
    (
        re.compile(rf"^(.+): (\d+) constellation\(s\) selected, {_AMOUNT} SEK$"),
        lambda m: (
            ngettext(
                "%(call)s: %(count)s constellation selected, %(amount)s",
                "%(call)s: %(count)s constellations selected, %(amount)s",
                int(m[2]),
            )
            % {"call": bilingual(m[1]), "count": m[2], "amount": _money(m[3])}
        ),
    ),
    (
        re.compile(rf"^(\S+): outcome financing ended, {_AMOUNT} SEK released$"),
        lambda m: (
            _("%(code)s: outcome financing ended, %(amount)s released")
            % {"code": m[1], "amount": _money(m[2])}
        ),
    ),
    (
        re.compile(rf"^(\S+) (\d{{4}}-\d\d-\d\d)–(\d{{4}}-\d\d-\d\d): {_AMOUNT} SEK \((\w+)\)$"),
        lambda m: (
            _("%(code)s %(start)s–%(end)s: %(amount)s (bound by %(binding)s)")
            % {
                "code": m[1],
                "start": _day(m[2]),
                "end": _day(m[3]),
                "amount": _money(m[4]),
                "binding": _binding(m[5]),
            }
        ),
    ),
]


# Phase 3, the project leader's support and the fairness rule (deep_analysis.py,
# follow_up.py).
_SUMMARIES += [
    (
        re.compile(r"^(.+): outcome financing granted$"),
        lambda m: _("%(name)s: outcome financing granted") % {"name": m[1]},
    ),
    (
        re.compile(r"^(.+): not financed$"),
        lambda m: _("%(name)s: not financed") % {"name": m[1]},
    ),
    (
        re.compile(
            rf"^(\S+) (\d{{4}}-\d\d-\d\d)–(\d{{4}}-\d\d-\d\d): {_AMOUNT} SEK support for the "
            r"local project leader$"
        ),
        lambda m: (
            _("%(code)s %(start)s–%(end)s: %(amount)s support for the local project leader")
            % {"code": m[1], "start": _day(m[2]), "end": _day(m[3]), "amount": _money(m[4])}
        ),
    ),
    (
        re.compile(rf"^(\S+): {_AMOUNT} SEK returned \({_AMOUNT} unused, {_AMOUNT} repayment\)$"),
        lambda m: (
            _("%(code)s: %(total)s returned (%(unused)s unused, %(repayment)s repayment)")
            % {
                "code": m[1],
                "total": _money(m[2]),
                "unused": _money(m[3]),
                "repayment": _money(m[4]),
            }
        ),
    ),
]
_EXPLANATION += [
    (
        re.compile(rf"^support paid {_AMOUNT} SEK, used {_AMOUNT} SEK: {_AMOUNT} SEK unused$"),
        lambda m: (
            _("Support paid %(paid)s, used %(used)s: %(unused)s unused")
            % {"paid": _money(m[1]), "used": _money(m[2]), "unused": _money(m[3])}
        ),
    ),
    (
        re.compile(rf"^unused funds are returned: {_AMOUNT} SEK$"),
        lambda m: _("Unused funds are returned: %(amount)s") % {"amount": _money(m[1])},
    ),
    (
        re.compile(r"^did everything it could: no repayment$"),
        lambda m: _("Did everything it could: no repayment"),
    ),
    (
        re.compile(rf"^insufficient effort under the agreement: repayment {_AMOUNT} SEK$"),
        lambda m: (
            _("Insufficient effort under the agreement: repayment %(amount)s")
            % {"amount": _money(m[1])}
        ),
    ),
    (
        re.compile(r"^Areas to improve: (.*)$"),
        lambda m: _("Areas to improve: %(text)s") % {"text": m[1]},
    ),
    (
        re.compile(r"^Signed support statement (\d+) of (\S+)$"),
        lambda m: (
            _("Signed support statement %(number)s of %(contract)s")
            % {"number": m[1], "contract": m[2]}
        ),
    ),
]


def _rewrite(text: str, rules: list[Rewrite]) -> str:
    for pattern, render in rules:
        match = pattern.match(text)
        if match:
            return render(match)
    return text


def payment_explanation(line: Any) -> str:
    """One line of a payment's explanation, translated with its figures formatted."""
    return _rewrite(str(line), _EXPLANATION)


def decision_summary(summary: Any) -> str:
    """A decision's summary, translated with its figures formatted."""
    return _rewrite(str(summary), _SUMMARIES)


def decision_reasons(reasons: Any) -> str:
    """A decision's reasons: the explanation lines of a payment and the headings of a
    screening's feedback translated; what a person wrote stays as written."""
    lines = []
    for line in str(reasons).splitlines():
        if line.startswith("Strengths: "):
            line = _("Strengths: %(text)s") % {"text": line.removeprefix("Strengths: ")}
        elif line.startswith("Weaknesses: "):
            line = _("Weaknesses: %(text)s") % {"text": line.removeprefix("Weaknesses: ")}
        else:
            line = payment_explanation(line)
        lines.append(line)
    return "\n".join(lines)
