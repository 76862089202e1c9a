"""The engine's errors in the reader's language: one place for every page.

The core and the services raise :class:`~utfall.errors.UtfallError` with an English
message (the text of the CLI, the API and the logs), a stable ``code`` and its
``params``; every :class:`~utfall.errors.Finding` has the same. A page says an error
with :func:`error_message` / :func:`finding_message` (or takes both from
:func:`error_context`): the template of the code, translated with gettext into the
active language and filled with the params (numbers in the formatting layer's form,
names of the contract's parts by their labels), and the English text where no
template is known.

Most raise sites predate the codes and give only a message; each template therefore
also says how to read its params out of the English text (``pattern``), so an error
raised as ``EvaluationError("the bootstrap needs at least two units")`` is translated
like one raised with its code. Locations are said in words (row, column, line) and a
server file name or path never reaches the text.

Import problems are in the same table: an :class:`ImportFinding` is stored with its
English message and, beside it, a ``reason`` (the code of its template: ``not-number``,
``date-not-exists`` …), its ``params`` and the cell's ``value`` (identity numbers masked);
:func:`finding_text` says any finding, live or stored as a dict, by its reason. Each import
reason's template also has its ``group``: the heading of a group of problems on the import
page, where problems are counted by reason and column over the whole file
(:func:`group_key`, decision 0830). How a param is shown is its ``kinds`` entry: a part of
the contract (by its label), or a figure (``number``, ``money``, ``percent``, ``day``,
``figure`` — a number or a date as the value reads — and ``text``, shown as it is).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from utfall.core.contracts.labels import declared_label
from utfall.errors import Finding, FindingsError, FormulaError, UtfallError
from utfall.services import formatting
from utfall.services.labels import label as contract_label

__all__ = [
    "BY_CODE",
    "EXAMPLES_PER_GROUP",
    "MESSAGES",
    "ImportFinding",
    "Message",
    "error_context",
    "error_message",
    "error_said",
    "finding_message",
    "finding_text",
    "group_key",
    "group_label",
    "mask_identity_value",
    "note_message",
    "translate",
]


@dataclass(frozen=True)
class Message:
    """How a code is said: a translatable template and how to read an old message."""

    code: str
    template: Any  # a lazy gettext string with %(name)s placeholders
    pattern: re.Pattern[str] | None = None
    nested: tuple[str, ...] = ()  # params that are themselves messages (translated too)
    kinds: Mapping[str, str] | None = None  # param → kind of contract part or of figure
    group: Any = None  # an import reason's heading of a group of problems (lazy gettext)


def _m(
    code: str,
    template: Any,
    pattern: str | None = None,
    nested: tuple[str, ...] = (),
    kinds: Mapping[str, str] | None = None,
    group: Any = None,
) -> Message:
    compiled = re.compile(pattern, re.S) if pattern else None
    return Message(code, template, compiled, nested, kinds, group)


# How an import problem's params are shown: counts and limits as numbers, the two dates of
# a participant as dates, a stored or given cell as it reads (a number or a date).
_IMPORT_KINDS = {
    **dict.fromkeys(("minimum", "maximum", "places", "limit", "first", "second"), "number"),
    **dict.fromkeys(("index", "cells", "width", "row", "size"), "number"),
    **dict.fromkeys(("end", "inclusion"), "day"),
    **dict.fromkeys(("stored", "given"), "figure"),
}


def _i(code: str, template: Any, value: str = "text", group: Any = None) -> Message:
    """An import reason: no pattern (a stored finding names its reason), ``value`` the
    kind of the cell's value in the template."""
    return _m(code, template, kinds={**_IMPORT_KINDS, "value": value}, group=group)


_Q = r"['\"“]?"  # values are quoted with repr() in some messages, not in others
_V = r"['\"“]?(?P<value>.*?)['\"”]?"

MESSAGES: tuple[Message, ...] = (
    # --- wrappers: a location or a context in front of another message ---------------
    _m(
        "evaluation-failed-wrapper",
        _("The evaluation could not be run: %(reason)s"),
        r"^the evaluation failed: (?P<reason>.+)$",
        nested=("reason",),
    ),
    _m(
        "located",  # "costs.yaml:12: …", "<contract>:3:5 outputs.x: …": the place is dropped
        "%(reason)s",
        r"^(?:<[^>]+>|[\w./\\-]+\.(?:ya?ml|csv|json|xlsx|parquet)|evaluation spec)"
        r"(?::\d+)*(?: [\w.\[\]]+)?: (?P<reason>.+)$",
        nested=("reason",),
    ),
    _m(
        "formula-located",
        _("In the formula %(name)s: %(reason)s"),
        r"^(?:contract '[^']*', )?formula '(?P<name>[^']+)'(?:, line \d+, column \d+)?: "
        r"(?P<reason>.+)$",
        nested=("reason",),
        kinds={"name": "output"},
    ),
    _m("method-prefixed", "%(reason)s", r"^[a-z_]+: (?P<reason>.+)$", nested=("reason",)),
    # --- contracts (upload) ------------------------------------------------------------
    _m(
        "contract-invalid",
        _("The contract has %(count)s problem(s)."),
        r"^(?:.*: )?the contract has (?P<count>\d+) problem\(s\)$",
    ),
    _m(
        "contract-unreadable",
        _("The contract cannot be read."),
        r"^(?:.*: )?the contract cannot be read$",
    ),
    _m(
        "schema:missing",
        _("the required field “%(field)s” is missing"),
        rf"^required field {_Q}(?P<field>[^'\"]+){_Q} is missing$",
    ),
    _m(
        "schema:extra_forbidden",
        _("“%(field)s” is not a field of the contract"),
        rf"^unknown field {_Q}(?P<field>[^'\"]+){_Q}$",
    ),
    _m(
        "schema:string_too_short",
        _("the text must not be empty"),
        r"^String should have at least 1 character$",
    ),
    _m("schema:string_type", _("a text is expected here"), r"^Input should be a valid string$"),
    _m(
        "schema:date",
        _("a date (YYYY-MM-DD) is expected here"),
        r"^Input should be a valid date.*$",
    ),
    _m(
        "schema:literal",
        _("the value must be one of %(choices)s"),
        r"^Input should be (?P<choices>'.+')$",
    ),
    _m(
        "unknown-party",
        _("“%(value)s” is not a party of the contract"),
        rf"^unknown party {_V}(?:; did you mean .*)?$",
    ),
    _m(
        "duplicate-party",
        _("the party “%(value)s” is listed twice"),
        rf"^party {_V} is listed twice$",
    ),
    _m("self-payment", _("a party cannot pay itself"), r"^a party cannot pay itself$"),
    _m(
        "not-a-mapping",
        _("a contract is a YAML mapping (key: value lines)"),
        r"^a contract is a YAML mapping.*$",
    ),
    _m(
        "cycle",
        _("the outputs depend on each other in a cycle: %(cycle)s"),
        r"^outputs depend on each other in a cycle: (?P<cycle>.+)$",
    ),
    _m("payment-type", _("a payment amount must be money"), r"^a payment amount must be money.*$"),
    # --- formulas ------------------------------------------------------------------------
    _m("formula-empty", _("the formula is empty"), r"^the formula is empty.*$"),
    _m(
        "formula-character",
        _("the formula has a character it cannot read: %(value)s"),
        r"^unexpected character (?P<value>.+?)(?: \(formula line.*)?$",
    ),
    _m("formula-ends", _("the formula ends too early"), r"^the formula ends too early.*$"),
    _m("formula-parse", _("the formula cannot be read"), r"^cannot parse the formula.*$"),
    _m(
        "formula-unknown-name",
        _("the formula uses an unknown name: %(value)s"),
        rf"^unknown name {_V}(?:;.*| \(formula line.*)?$",
    ),
    _m("formula-division", _("division by zero"), r"^division by zero.*$"),
    # --- settlement inputs (facts) -----------------------------------------------------
    _m(
        "facts-invalid",
        _("The outcomes given have %(count)s problem(s)."),
        r"^(?P<count>\d+) problem\(s\) with the facts$",
    ),
    _m(
        "overrides-invalid",
        _("The changed terms have %(count)s problem(s)."),
        r"^(?P<count>\d+) problem\(s\) with the parameter overrides$",
    ),
    _m("missing-input", _("the value is missing"), r"^input is missing.*$"),
    _m("unknown-input", _("the contract has no such outcome"), r"^unknown input.*$"),
    _m("unknown-parameter", _("the contract has no such term"), r"^unknown parameter.*$"),
    _m("bad-input", "%(reason)s", r"^(?:input|parameter): (?P<reason>.+)$", nested=("reason",)),
    _m("no-value", _("no value is given"), r"^no value given$"),
    _m(
        "expected-number",
        _("“%(value)s” is not a number"),
        rf"^expected (?:money|a number|a count)(?: as an exact decimal)?, got (?:the float |a boolean \()?{_V}\)?(?:;.*)?$",
    ),
    _m(
        "expected-boolean",
        _("“%(value)s” is not yes or no"),
        rf"^expected true or false, got {_V}$",
    ),
    _m(
        "expected-choice",
        _("“%(value)s” is not one of the choices: %(choices)s"),
        rf"^expected one of (?P<choices>.*), got {_V}$",
    ),
    _m(
        "money-ore",
        _("money has at most two decimals (whole öre): %(value)s"),
        r"^money has at most two decimals \(whole öre\), got (?P<value>.+)$",
    ),
    _m(
        "count-whole",
        _("a count is a whole number of 0 or more: %(value)s"),
        r"^a count is a whole number of 0 or more, got (?P<value>.+)$",
    ),
    _m(
        "below-minimum",
        _("%(value)s is less than the smallest value allowed, %(minimum)s"),
        r"^(?P<value>\S+) is below the minimum (?P<minimum>\S+)$",
        kinds={"value": "number", "minimum": "number"},
        group=_("Below the smallest value allowed"),
    ),
    _m(
        "above-maximum",
        _("%(value)s is more than the largest value allowed, %(maximum)s"),
        r"^(?P<value>\S+) is above the maximum (?P<maximum>\S+)$",
        kinds={"value": "number", "maximum": "number"},
        group=_("Above the largest value allowed"),
    ),
    _m(
        "series-length",
        _("%(length)s values are expected"),
        r"^expected a list of (?P<length>\d+) values, got .*$",
    ),
    _m(
        "series-value",
        _("value %(index)s: %(reason)s"),
        r"^value (?P<index>\d+): (?P<reason>.+)$",
        nested=("reason",),
    ),
    # --- dates ---------------------------------------------------------------------------
    _m(
        "date-not-exists",
        _("“%(value)s” is not a date that exists"),
        rf"^{_V} is not a date that exists$",
        kinds={"value": "text"},
        group=_("Dates that do not exist"),
    ),
    _m(
        "date-format",
        _("“%(value)s” is not a date (write YYYY-MM-DD, or YYYY-MM for a month)"),
        rf"^{_V} is not a date \(write YYYY-MM-DD.*\)$",
        kinds={"value": "text"},
        group=_("Not a date"),
    ),
    _m(
        "period-order", _("the period ends before it starts"), r"^the period ends before it starts$"
    ),
    # --- settlement workflow -----------------------------------------------------------
    _m("no-version", _("the contract has no version yet"), r"^the contract has no version$"),
    _m(
        "statement-final",
        _("this statement is final and cannot be changed; start a correction instead"),
        r"^this statement is final and cannot be changed.*$",
    ),
    _m(
        "correction-reference",
        _("a correction must refer to a final statement of the same contract"),
        r"^a correction must reference a final statement of the same contract$",
    ),
    _m(
        "correction-reason",
        _("a correction needs a stated reason"),
        r"^a correction needs a stated reason$",
    ),
    _m(
        "correction-unneeded",
        _("a reason for a correction is given, but no statement to correct"),
        r"^a reason for a correction is given, but no statement to correct$",
    ),
    _m(
        "already-in-review",
        _("the statement is already in review"),
        r"^the statement is already in review$",
    ),
    _m("empty-comment", _("the comment is empty"), r"^the comment is empty$"),
    _m(
        "totp-missing",
        _("signing off needs two-factor authentication: set it up first"),
        r"^sign-off needs two-factor authentication.*$",
    ),
    _m(
        "totp-locked",
        _("too many wrong two-factor codes; wait five minutes and try again"),
        r"^too many wrong two-factor codes.*$",
    ),
    _m(
        "totp-wrong",
        _("the two-factor code is wrong or was used already; enter the current code"),
        r"^the two-factor code is wrong or was used already.*$",
    ),
    _m(
        "review-first",
        _("send the statement to the parties for review before signing it off"),
        r"^send the statement to the parties for review before signing it off$",
    ),
    _m(
        "ledger-changing",
        _("the ledger kept changing while signing; try again"),
        r"^the ledger kept changing while signing; try again$",
    ),
    _m(
        "upstream-unsigned",
        _(
            "sign off a statement of the contract %(contract)s first: this contract takes "
            "figures from it"
        ),
        r"^sign off a statement of contract (?P<contract>[a-z0-9-]+) first: .*$",
    ),
    # --- evaluation refusals -----------------------------------------------------------
    _m(
        "too_few_clusters",
        _(
            "only %(treated)s of %(total)s groups are ever treated: intervals that assume "
            "several treated groups are not valid; use randomisation inference instead"
        ),
        r"^only (?P<treated>\d+) of (?P<total>\d+) clusters .*$",
    ),
    _m(
        "one-treated-cluster",
        _("one treated group: cluster-robust inference is not valid"),
        r"^one treated cluster: cluster-robust inference is not valid$",
    ),
    _m(
        "bootstrap-units",
        _("the bootstrap needs at least two units"),
        r"^the bootstrap needs at least two units$",
    ),
    _m(
        "no-estimate",
        _("the method gives no estimate for these data"),
        r"^(?:[a-z_]+ )?produced no finite estimate$",
    ),
    _m(
        "reference-cohort-empty",
        _("the reference group has no rows"),
        r"^the reference cohort has no rows$",
    ),
    _m(
        "treated-empty", _("no included participant has rows"), r"^no included individual has rows$"
    ),
    _m(
        "no-periods",
        _("at least two periods are needed"),
        r"^staggered_did needs at least two periods$",
    ),
    _m(
        "no-starters",
        _("no unit in the data starts the intervention"),
        r"^staggered_did found no unit that starts treatment in the data$",
    ),
    _m(
        "interval-employees",
        _("an interval needs at least two employees"),
        r"^an interval needs at least two employees$",
    ),
    _m("no-months", _("there are no months to evaluate"), r"^no months$"),
    _m(
        "table-missing",
        _("no data have been imported yet for the table “%(table)s”: import it first"),
        r"^no imported data for the table (?P<table>\w+) \([^)]*\) of \S+: import it first$",
        kinds={"table": "table"},
    ),
    _m(
        "table-as-of",  # "school_results (the data as of 2018-03-31): …": the table by its label
        _("%(table)s (the data as of %(day)s): %(reason)s"),
        r"^(?P<table>[a-z]\w*) \(the data as of (?P<day>\d{4}-\d{2}-\d{2})\): (?P<reason>.+)$",
        nested=("reason",),
        kinds={"table": "table", "day": "day"},
    ),
    _m(
        "table-as-of-column",
        _("%(table)s (the data as of %(day)s), column “%(column)s”: %(reason)s"),
        r"^(?P<table>[a-z]\w*) \(the data as of (?P<day>\d{4}-\d{2}-\d{2})\) "
        r"column '(?P<column>[^']+)': (?P<reason>.+)$",
        nested=("reason",),
        kinds={"table": "table", "day": "day"},
    ),
    _m(
        "subgroup",
        _("in the subgroup “%(value)s”: %(reason)s"),
        r"^subgroup \w+ = '(?P<value>[^']*)': (?P<reason>.+)$",
        nested=("reason",),
    ),
    _m(
        "design-cell-empty",
        _("a cell of the 2×2 design (group and before or after) has no rows"),
        r"^a cell of the 2×2 design is empty$",
    ),
    _m(
        "empty_group",
        _("no rows where “%(group)s” is %(a)s and “%(period)s” is %(b)s"),
        r"^no rows with (?P<group>\w+) = (?P<a>\d+) and (?P<period>\w+) = (?P<b>\d+)$",
    ),
    _m("one-measurement", _("only one measurement point"), r"^only one measurement point$"),
    _m(
        "two-measurements",
        _("at least two measurement points are needed"),
        r"^(?:\w+ )?needs at least two measurement points$",
    ),
    _m(
        "no-data",
        _("there are no data to evaluate yet"),
        r"^.*(?:has no rows|no rows to evaluate|no imported data).*$",
    ),
    # --- notes of a finance report (utfall.core.finance.notes.Note) -----------------------
    _m(
        "finance-over-commitment",
        _(
            "the cost reports exceed the commitment of %(commitment)s: the commissioner "
            "carries %(own)s itself"
        ),
        kinds={"commitment": "money", "own": "money"},
    ),
    _m(
        "finance-payments-early",
        _("these payments fall before the last drawdown: %(payments)s"),
        kinds={"payments": "payments"},
    ),
    _m(
        "finance-shares-sum",
        _(
            "the stated cost shares sum to %(total)s, not 100 %% (rounded figures); the "
            "amounts are split in proportion to them"
        ),
        kinds={"total": "percent"},
    ),
    _m(
        "finance-invested-differs",
        _(
            "the settlement counts %(counted)s as invested (%(term)s); the plan's drawdowns "
            "come to %(drawn)s"
        ),
        kinds={"counted": "money", "drawn": "money", "term": "term"},
    ),
    _m(
        "finance-savings-wait",
        _(
            "the savings are the settlement's “%(output)s” spread over months: they are "
            "counted once there is a settlement"
        ),
        kinds={"output": "term"},
    ),
    _m(
        "finance-needs-settlement",
        _(
            "the contract's payments, the financier's return and the commissioner's "
            "break-even month follow from a settlement statement"
        ),
    ),
    _m(
        "finance-irr-no-dates",
        _("without a finance plan or contract periods the IRR has no dates"),
    ),
    _m(
        "finance-no-financier",
        _("the contract has no single financier: name it in a finance plan"),
    ),
    # --- import problems (stored findings, said by their reason; decision 0830) ---------
    _i(
        "not-number",
        _("“%(value)s” is not a number"),
        group=_("Not a number"),
    ),
    _i(
        "empty",
        _("the cell is empty but the column is required"),
        group=_("Required cells left empty"),
    ),
    _i(
        "not-whole",
        _("%(value)s is not a whole number"),
        value="number",
        group=_("Not a whole number"),
    ),
    _i(
        "too-many-decimals",
        _("%(value)s has more than %(places)s decimals"),
        value="number",
        group=_("Too many decimals"),
    ),
    _i(
        "too-large",
        _("%(value)s is too large"),
        value="number",
        group=_("Numbers too large"),
    ),
    _i(
        "not-boolean",
        _("“%(value)s” is not yes or no (ja/nej, true/false, 1/0)"),
        group=_("Not yes or no"),
    ),
    _i(
        "not-choice",
        _("“%(value)s” is not one of the choices: %(choices)s"),
        group=_("Not one of the choices"),
    ),
    _i(
        "not-party",
        _("“%(value)s” is not a party of the contract (%(choices)s)"),
        group=_("Not a party of the contract"),
    ),
    _i(
        "text-too-long",
        _("the text is longer than %(limit)s characters"),
        group=_("Texts too long"),
    ),
    _i(
        "unreadable-cell",
        _("the cell cannot be read"),
    ),
    # persons
    _i(
        "person-not-text",
        _("not a valid personal identity number: it is not text"),
    ),
    _i(
        "person-format",
        _("not a valid personal identity number: write it YYYYMMDD-NNNN or YYMMDD-NNNN"),
        group=_("Personal identity numbers written wrongly"),
    ),
    _i(
        "person-check-digit",
        _("not a valid personal identity number: the check digit is wrong"),
        group=_("Personal identity numbers with a wrong check digit"),
    ),
    _i(
        "person-birth-date",
        _("not a valid personal identity number: the date of birth is not a valid date"),
        group=_("Personal identity numbers with an impossible date of birth"),
    ),
    _i(
        "reference-empty",
        _("the participant reference is empty"),
        group=_("Empty participant references"),
    ),
    _i(
        "identity-number-in-text",
        _(
            "the cell holds a personal identity or coordination number (%(mask)s); only the "
            "identity column may hold one: remove it from this column and upload the file again"
        ),
        group=_("Identity numbers outside the identity column"),
    ),
    _i(
        "end-before-inclusion",
        _("the end date %(end)s is before the inclusion date %(inclusion)s"),
        group=_("End before inclusion"),
    ),
    # rows against the file and the stored rows
    _i(
        "duplicate-person",
        _("the same person as row %(first)s"),
        group=_("Rows repeated in the file"),
    ),
    _i(
        "duplicate-key",
        _("the same %(columns)s as row %(first)s"),
        group=_("Rows repeated in the file"),
    ),
    _i(
        "duplicate-person-key",
        _("the same person and %(columns)s as row %(first)s"),
        group=_("Rows repeated in the file"),
    ),
    _i(
        "duplicate-values",
        _("the same values in every column as row %(first)s"),
        group=_("Rows repeated in the file"),
    ),
    _i(
        "unknown-participant",
        _("no %(who)s of this contract has this identity; import the participants first"),
        group=_("Persons who are not participants"),
    ),
    _i(
        "participant-conflict",
        _(
            "this person is already a participant (%(import)s) with %(column)s %(stored)s; the "
            "file says %(given)s"
        ),
        group=_("Participants stored with other values"),
    ),
    _i(
        "stored-row-differs",
        _(
            "a row with the same %(columns)s was imported already (%(import)s) with %(column)s "
            "%(stored)s; the file says %(given)s. A stored row is never changed"
        ),
        group=_("Rows stored with other values"),
    ),
    # the file
    _i(
        "utf-16",
        _("the file is UTF-16 text; save it as “CSV UTF-8” and upload it again"),
    ),
    _i(
        "not-utf-8",
        _(
            "row %(row)s holds a character that is not UTF-8; it looks like Windows-1252: choose "
            "that encoding or save the file as “CSV UTF-8”"
        ),
    ),
    _i(
        "not-encoding",
        _("row %(row)s holds a character that is not valid %(encoding)s"),
    ),
    _i(
        "not-text",
        _("the file is not a CSV text file (it holds binary data)"),
    ),
    _i(
        "empty-file",
        _("the file is empty"),
    ),
    _i(
        "no-rows",
        _("the file has a header but no data rows"),
    ),
    _i(
        "bad-csv-header",
        _("the header row cannot be read as CSV"),
    ),
    _i(
        "bad-csv-row",
        _("the row cannot be read as CSV"),
    ),
    _i(
        "ragged-row",
        _("the row has %(cells)s cells, the header has %(width)s"),
        group=_("Rows with the wrong number of cells"),
    ),
    _i(
        "blank-column-name",
        _("column %(index)s of the header has no name"),
    ),
    _i(
        "duplicate-column-name",
        _("the column name “%(name)s” appears twice (columns %(first)s and %(second)s)"),
    ),
    _i(
        "identity-number-in-header",
        _(
            "column %(index)s of the header holds a personal identity or coordination number "
            "(%(mask)s); the first row must name the columns"
        ),
    ),
    _i(
        "unreadable-workbook",
        _("the file is not a readable spreadsheet"),
    ),
    _i(
        "too-many-rows",
        _("the sheet has more than %(limit)s data rows"),
    ),
    _i(
        "too-many-columns",
        _("the file has more than %(limit)s columns"),
    ),
    _i(
        "too-many-cells",
        _("the sheet has more than %(limit)s cells; import a table this large as CSV"),
    ),
    _i(
        "too-many-files",
        _("the workbook holds more than %(limit)s files"),
    ),
    _i(
        "unpacks-too-large",
        _("the workbook unpacks to more than %(limit)s MiB"),
    ),
    _i(
        "file-too-large",
        _(
            "the file is %(size)s MB; the largest file accepted is %(limit)s MB (split it into "
            "several files)"
        ),
    ),
    _i(
        "already-imported",
        _(
            "this file was imported already (import %(import)s, %(when)s, by %(user)s); it is not "
            "imported twice"
        ),
    ),
    _i(
        "file-not-kept",
        _(
            "the uploaded file is no longer kept (it was imported or refused, or waited longer "
            "than the platform keeps files); upload it again"
        ),
    ),
    _i(
        "interrupted",
        _(
            "the work stopped before it finished (its process ended); nothing was written: start "
            "it again"
        ),
    ),
    _i(
        "internal-error",
        _("the import stopped on an unexpected error; nothing was written"),
    ),
    _i(
        "conflict",
        _("the data changed during the import; try again"),
    ),
    # the column mapping
    _i(
        "unknown-target",
        _("“%(target)s” is not a column of the table"),
    ),
    _i(
        "unknown-column",
        _("the file has no column “%(source)s”"),
    ),
    _i(
        "column-used-twice",
        _("the file's column “%(source)s” is chosen for both %(first)s and %(second)s"),
    ),
    _i(
        "missing-column",
        _("no column of the file is chosen for %(column)s, which is required"),
    ),
    _i(
        "missing-person",
        _("no column of the file is chosen to identify the person (%(columns)s)"),
    ),
    _i(
        "ambiguous-person",
        _("choose one column identifying the person, not %(columns)s"),
    ),
)

_BY_CODE = {m.code: m for m in MESSAGES}
BY_CODE: Mapping[str, Message] = _BY_CODE
"""Each template by its code (an import finding's reason is its code)."""


def _figure(value: str, language: str) -> str:
    """A stored or given cell: a number or a date in the language's form, else as it is."""
    if re.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?", value):
        return formatting.number(value, language)
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return formatting.date(value, language)
    return value


_FIGURES: dict[str, Callable[..., str]] = {  # kinds of params that are figures
    "money": formatting.money,
    "percent": formatting.percent,
    "day": formatting.date,
    "number": formatting.number,
    "figure": _figure,
}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _language(language: str | None) -> str:
    return formatting.language_of(language or translation.get_language())


def _term(document: Any, name: str, language: str) -> str:
    """A term of the contract (an output, input or parameter) by its declared label."""
    for kind in ("output", "input", "parameter"):
        if declared_label(document, kind, name) is not None:
            return contract_label(document, kind, name, language)
    return contract_label(document, "output", name, language)


def _shown(name: str, value: str, message: Message, language: str, document: Any) -> str:
    kind = (message.kinds or {}).get(name)
    if kind == "text":
        return value
    if kind in _FIGURES:
        if not value:
            return value
        try:
            return _FIGURES[kind](value, language)
        except (ValueError, TypeError, ArithmeticError):
            return value  # a cell that is not the figure it should be is shown as typed
    if kind == "term":
        return _term(document, value, language)
    if kind == "payments":
        return ", ".join(
            contract_label(document, "payment", p.strip(), language) for p in value.split(",")
        )
    if kind and document is not None:
        return contract_label(document, kind, value, language)
    if re.fullmatch(r"−?-?\d+(?:\.\d+)?", value or ""):
        return formatting.number(value.replace("−", "-"), language)
    return value


def _fill(message: Message, params: Mapping[str, str], language: str, document: Any) -> str:
    values: dict[str, str] = {}
    for name in _PLACEHOLDER.findall(str(message.template)):
        # A declaration's labels are given in both languages: ``choices_en`` on English pages.
        own = f"{name}_en" if language == "en" and f"{name}_en" in params else name
        raw = str(params.get(own, ""))
        if name in message.nested:
            values[name] = translate_text(raw, language, document)
        else:
            values[name] = _shown(name, raw, message, language, document)
    with translation.override(language):
        template = str(message.template)
    text = template % values
    return text[:1].upper() + text[1:] if message.code.endswith("wrapper") else text


def translate(
    code: str | None,
    params: Mapping[str, Any] | None,
    default: str,
    language: str | None = None,
    document: Any = None,
) -> str:
    """The message of ``code`` with ``params`` in ``language`` (the active one by
    default); the English ``default`` read through the templates where the code has none
    (or no params), and ``default`` itself where no template fits."""
    lang = _language(language)
    message = _BY_CODE.get(code or "")
    if (
        message is not None
        and params
        and (set(_PLACEHOLDER.findall(str(message.template))) <= set(params))
    ):
        return _fill(message, {k: str(v) for k, v in params.items()}, lang, document)
    return translate_text(default, lang, document)


def _read(text: str, language: str, document: Any) -> str | None:
    """The text through the first template that reads it, or ``None``."""
    for message in MESSAGES:
        if message.pattern is None:
            continue
        match = message.pattern.match(text)
        if match is None:
            continue
        params = match.groupdict()
        # A wrapper (a place or context in front) applies only when what it wraps is read.
        if any(_read(params.get(n) or "", language, document) is None for n in message.nested):
            continue
        return _fill(message, params, language, document)
    return None


def translate_text(text: str, language: str | None = None, document: Any = None) -> str:
    """An English message read through the templates; the text itself where none fits."""
    lang = _language(language)
    text = str(text).strip()
    read = _read(text, lang, document)
    return text if read is None else read


def _where(finding: Finding, language: str, document: Any, kind: str | None) -> str:
    parts = []
    with translation.override(language):
        if finding.row is not None:
            parts.append(str(_("row %(row)s") % {"row": formatting.number(finding.row, language)}))
        if finding.field_name:
            parts.append(str(_("column “%(column)s”") % {"column": finding.field_name}))
        if finding.line is not None:
            parts.append(
                str(_("line %(line)s") % {"line": formatting.number(finding.line, language)})
            )
        if kind and finding.path and document is not None:
            parts.append(contract_label(document, kind, finding.path, language))
    return ", ".join(parts)


def finding_text(
    finding: Finding | Mapping[str, Any], language: str | None = None, document: Any = None
) -> str:
    """What a finding says in ``language``, without its place: an import finding (or one
    stored as a dict, ``ImportFinding.as_dict()``) is said by its reason's template (its
    code where it names no reason) when its params fill it; any other finding by its code
    with its params, or its English message read through the templates (the stored message
    where none reads it)."""
    lang = _language(language)
    if isinstance(finding, Mapping):
        reason, code = finding.get("reason"), finding.get("code")
        params, default = finding.get("params"), str(finding.get("message", ""))
        reason = reason or code
    else:
        reason, code = getattr(finding, "reason", None), finding.code
        params, default = finding.params, finding.message
        if isinstance(finding, ImportFinding):
            reason = reason or code
    message = _BY_CODE.get(str(reason or ""))
    if message is not None and params is not None:
        values = {str(k): str(v) for k, v in params.items()}
        if set(_PLACEHOLDER.findall(str(message.template))) <= set(values):
            return _fill(message, values, lang, document)
    return translate(reason or code, params, default, lang, document)


def finding_message(
    finding: Finding,
    language: str | None = None,
    document: Any = None,
    kind: str | None = None,
) -> str:
    """A finding in ``language``, its place in words first (row, column, line, or the
    label of the contract's part ``kind`` its path names), never a file name."""
    lang = _language(language)
    text = finding_text(finding, lang, document)
    where = _where(finding, lang, document, kind)
    return f"{where}: {text}" if where else text


# --- import findings -----------------------------------------------------------------

EXAMPLES_PER_GROUP = 5
"""How many problems of each kind the import page shows."""


@dataclass(frozen=True)
class ImportFinding(Finding):
    """A finding of an import, with its reason, its parameters and the cell's value."""

    reason: str | None = None
    params: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    value: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The finding's stable keys plus ``reason``, ``params`` and ``value``."""
        data = super().as_dict()
        data.update(reason=self.reason or self.code, params=dict(self.params), value=self.value)
        return data


def mask_identity_value(value: Any) -> str:
    """A cell of the identity column as a problem may show it: every digit an X."""
    return re.sub(r"[0-9]", "X", str(value if value is not None else ""))[:40]


def group_key(finding: Mapping[str, Any]) -> str:
    """The group a stored finding belongs to: its reason and its column."""
    return f"{finding.get('reason') or finding.get('code')}|{finding.get('field') or ''}"


def group_label(reason: str) -> str:
    """The heading of a group of problems (the reason in words, in the active language)."""
    message = _BY_CODE.get(reason)
    if message is not None and message.group is not None:
        return str(message.group)
    return str(_("Other problems"))


def error_message(error: UtfallError, language: str | None = None, document: Any = None) -> str:
    """The one-line message of ``error`` in ``language`` (the active one by default)."""
    lang = _language(language)
    if isinstance(error, FormulaError):
        text = translate(error.code, error.params, error.reason, lang, document)
        if error.name:
            with translation.override(lang):
                name = contract_label(document, "output", error.name, lang)
                return str(
                    _("In the formula %(name)s: %(reason)s") % {"name": name, "reason": text}
                )
        return text
    return translate(error.code, error.params, error.message, lang, document)


def _finding_kind(error: UtfallError) -> str | None:
    from utfall.errors import FactsInvalid

    return "input" if isinstance(error, FactsInvalid) else None


def error_context(
    error: UtfallError, language: str | None = None, document: Any = None
) -> dict[str, Any]:
    """``{"error": …, "findings": […]}`` for a page, every line in ``language``."""
    lang = _language(language)
    findings: list[str]
    if isinstance(error, FindingsError) and error.findings:
        kind = _finding_kind(error)
        findings = [finding_message(f, lang, document, kind) for f in error.findings]
    elif isinstance(error, FormulaError):
        findings = list(error.detail)  # the formula and a caret under the place
    else:
        findings = [translate_text(d, lang, document) for d in error.detail]
    return {"error": error_message(error, lang, document), "findings": findings}


def note_message(note: Any, language: str | None = None, document: Any = None) -> str:
    """A note of a finance report (:class:`~utfall.core.finance.notes.Note`) in
    ``language``: its code's template with its params (amounts in the language's form,
    the contract's parts by their labels); a plain English note read through the
    templates."""
    code = getattr(note, "code", None)
    params = getattr(note, "params", None)
    message = _BY_CODE.get(code or "")
    if message is not None and not _PLACEHOLDER.findall(str(message.template)):
        with translation.override(_language(language)):
            return str(message.template)
    return translate(code, params, str(note), language, document)


def error_said(
    error: Mapping[str, Any] | None, language: str | None = None, document: Any = None
) -> dict[str, Any] | None:
    """An error kept as a dict (``{"code", "params", "message", "detail"}``, as the council's
    dashboard stores it) with its message and detail lines in ``language``; a dict stored
    before codes were kept is read through the templates."""
    if not error:
        return None
    lang = _language(language)
    message = str(error.get("message") or "")
    return {
        **error,
        "message": translate(error.get("code"), error.get("params"), message, lang, document),
        "detail": [translate_text(str(d), lang, document) for d in error.get("detail") or []],
    }
