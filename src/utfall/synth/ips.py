"""Synthetic IPS participants and their employment outcomes (a rate-card contract).

Individual Placement and Support (supported employment for people with mental
illness, seed 004) paid per participant outcome. The scenario writes the two tables
the rate-card contract declares, as CSV in its layout (see ``docs/data.md``):

* ``participants.csv`` — ``participant`` (a case reference ``IPS-000001``, nothing
  like a personnummer), ``included_on`` (2024-01 … 2025-12), ``left_on`` (empty for
  most) and ``support_need`` (``standard`` or ``high``);
* ``events.csv`` — ``participant``, ``outcome`` (``job_start``, ``in_work_13_weeks``,
  ``in_work_26_weeks``), ``achieved_on`` and ``evidence``: every job start and every
  13 and 26 weeks in work, job by job, as a provider's case records hold them, up to
  the data cut-off (2027-03-31).

The model. A participant finds work with probability ``P_WORK`` by support need;
the first job starts an exponential time (mean ``FIRST_JOB_MONTHS``) after inclusion,
further jobs (``1 + Poisson(EXTRA_JOBS)`` in all) follow after gaps; a job lasts an
exponential time (mean ``JOB_MONTHS``), so it reaches 13 weeks with probability
``exp(-3 / JOB_MONTHS)`` and 26 weeks, having reached 13, with the same probability.
A share of the participants leave IPS early; outcomes after leaving are reported for
some of them. Planted on purpose (at least one of each in every block of participants) so that
every rule of the rate card has work: 13 weeks in work reported without any job
start, job starts dated before inclusion, events without evidence; repeated jobs give duplicates, late inclusions outcomes
outside the window or the contract period. The manifest records every rate and the
number of events of each kind.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from utfall.synth._io import NullProgress, ProgressReporter, TableInfo

__all__ = ["DEFAULT_SIZE", "generate"]

DEFAULT_SIZE = 300
INCLUSION_START = dt.date(2024, 1, 1)
INCLUSION_DAYS = (dt.date(2026, 1, 1) - INCLUSION_START).days  # two years of intake
DATA_END = dt.date(2027, 3, 31)  # the provider's last report
HIGH_NEED_SHARE = 0.35
P_WORK = {"standard": 0.55, "high": 0.40}
FIRST_JOB_MONTHS = {"standard": 3.5, "high": 5.5}
EXTRA_JOBS = 4.0  # jobs beyond the first, Poisson mean (for those who find work)
JOB_GAP_MONTHS = 1.5
JOB_MONTHS = 5.0
LEAVE_SHARE = 0.25
LEAVE_MONTHS = (2, 24)
REPORTED_AFTER_LEAVING = 0.5
NO_JOB_BUT_13_WEEKS = 0.02  # of those without work: a 13-week outcome reported anyway
BEFORE_INCLUSION = 0.01  # of those with work: a job that started before inclusion
NO_EVIDENCE = 0.03
DAYS_PER_MONTH = 30.4375
WEEKS_13 = 91
WEEKS_26 = 182
BLOCK = 50_000

PARTICIPANTS_SCHEMA = pa.schema(
    [
        ("participant", pa.string()),
        ("included_on", pa.date32()),
        ("left_on", pa.date32()),
        ("support_need", pa.string()),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("participant", pa.string()),
        ("outcome", pa.string()),
        ("achieved_on", pa.date32()),
        ("evidence", pa.string()),
    ]
)
OUTCOMES = ("job_start", "in_work_13_weeks", "in_work_26_weeks")
EVIDENCE = {
    "job_start": "anställningsavtal",
    "in_work_13_weeks": "lönebesked",
    "in_work_26_weeks": "lönebesked",
}
_EPOCH = dt.date(1970, 1, 1)


def _days(values: np.ndarray) -> np.ndarray:
    """Day numbers since 1970 as a date32-ready int32 array."""
    return values.astype(np.int32)


def _some(eligible: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """The eligible participants drawn, or the first eligible one if none is: every block
    plants at least one event of each rule-breaking kind."""
    chosen = np.flatnonzero(eligible & drawn)
    if not len(chosen) and eligible.any():
        chosen = np.flatnonzero(eligible)[:1]
    return chosen


def _ids(start: int, n: int) -> list[str]:
    return [f"IPS-{i:06d}" for i in range(start, start + n)]


class _Block:
    """Participants ``first … first + n − 1`` and their events, from one seeded stream."""

    def __init__(self, rng: np.random.Generator, first: int, n: int):
        self.n = n
        self.ids = _ids(first, n)
        start = (INCLUSION_START - _EPOCH).days
        self.inclusion = start + rng.integers(0, INCLUSION_DAYS, n)
        self.high = rng.random(n) < HIGH_NEED_SHARE
        leaves = rng.random(n) < LEAVE_SHARE
        leave_after = rng.integers(
            int(LEAVE_MONTHS[0] * DAYS_PER_MONTH), int(LEAVE_MONTHS[1] * DAYS_PER_MONTH), n
        )
        self.left = np.where(leaves, self.inclusion + leave_after, -1)
        self.report_after_leaving = rng.random(n) < REPORTED_AFTER_LEAVING
        p_work = np.where(self.high, P_WORK["high"], P_WORK["standard"])
        self.works = rng.random(n) < p_work
        first_mean = np.where(self.high, FIRST_JOB_MONTHS["high"], FIRST_JOB_MONTHS["standard"])
        self.first_job = self.inclusion + rng.exponential(first_mean * DAYS_PER_MONTH).astype(int)
        self.jobs = 1 + rng.poisson(EXTRA_JOBS, n)
        self.rng = rng
        self.planted: dict[str, int] = {
            "no_job_but_13_weeks": 0,
            "job_before_inclusion": 0,
            "no_evidence": 0,
            "after_leaving_reported": 0,
            "after_leaving_unreported": 0,
        }

    def events(self) -> tuple[list[int], list[int], list[int]]:
        """Each event as (participant index, outcome index, day number)."""
        rng = self.rng
        who: list[int] = []
        what: list[int] = []
        when: list[int] = []
        end = (DATA_END - _EPOCH).days
        max_jobs = int(self.jobs.max()) if self.n else 0
        # Job by job, vectorised over the participants who have that many jobs.
        start = self.first_job.astype(np.int64)
        for job in range(max_jobs):
            has = self.works & (self.jobs > job) & (start <= end)
            duration = rng.exponential(JOB_MONTHS * DAYS_PER_MONTH, self.n).astype(np.int64)
            for outcome, offset, needs in (
                (0, 0, 0),
                (1, WEEKS_13, WEEKS_13),
                (2, WEEKS_26, WEEKS_26),
            ):
                day = start + offset
                keep = has & (duration >= needs) & (day <= end)
                after = keep & (self.left >= 0) & (day > self.left)
                self.planted["after_leaving_reported"] += int(
                    (after & self.report_after_leaving).sum()
                )
                self.planted["after_leaving_unreported"] += int(
                    (after & ~self.report_after_leaving).sum()
                )
                keep &= ~after | self.report_after_leaving
                index = np.flatnonzero(keep)
                who += index.tolist()
                what += [outcome] * len(index)
                when += day[index].tolist()
            gap = rng.exponential(JOB_GAP_MONTHS * DAYS_PER_MONTH, self.n).astype(np.int64)
            start = start + duration + 1 + gap
        # A 13-week outcome reported for someone without any job start.
        wrong = _some(~self.works, rng.random(self.n) < NO_JOB_BUT_13_WEEKS)
        self.planted["no_job_but_13_weeks"] = len(wrong)
        who += wrong.tolist()
        what += [1] * len(wrong)
        when += (self.inclusion[wrong] + rng.integers(WEEKS_13, 2 * WEEKS_26, len(wrong))).tolist()
        # A job that started before inclusion (the participant already had it).
        early = _some(self.works, rng.random(self.n) < BEFORE_INCLUSION)
        self.planted["job_before_inclusion"] = len(early)
        who += early.tolist()
        what += [0] * len(early)
        when += (self.inclusion[early] - rng.integers(1, 60, len(early))).tolist()
        return who, what, when

    def tables(self) -> tuple[pa.Table, pa.Table]:
        left = pa.array(_days(self.left), pa.int32(), mask=self.left < 0).cast(pa.date32())
        people = pa.table(
            [
                pa.array(self.ids, pa.string()),
                pa.array(_days(self.inclusion), pa.int32()).cast(pa.date32()),
                left,
                pa.array(np.where(self.high, "high", "standard"), pa.string()),
            ],
            schema=PARTICIPANTS_SCHEMA,
        )
        who, what, when = self.events()
        who_a = np.asarray(who, dtype=np.int64)
        what_a = np.asarray(what, dtype=np.int64)
        when_a = np.asarray(when, dtype=np.int64)
        order = np.lexsort((what_a, when_a, who_a))
        who_a, what_a, when_a = who_a[order], what_a[order], when_a[order]
        missing = self.rng.random(len(who_a)) < NO_EVIDENCE
        if len(missing) and not missing.any():
            missing[0] = True
        self.planted["no_evidence"] = int(missing.sum())
        outcomes = np.asarray(OUTCOMES, dtype=object)[what_a]
        evidence = [None if m else EVIDENCE[o] for o, m in zip(outcomes, missing, strict=True)]
        events = pa.table(
            [
                pa.array([self.ids[i] for i in who_a], pa.string()),
                pa.array(outcomes.tolist(), pa.string()),
                pa.array(_days(when_a), pa.int32()).cast(pa.date32()),
                pa.array(evidence, pa.string()),
            ],
            schema=EVENTS_SCHEMA,
        )
        return people, events


def _write_csv(out: Path, name: str, parts: list[pa.Table], schema: pa.Schema) -> TableInfo:
    """``out/NAME.csv`` from the parts, moved into place when complete."""
    path = out / f"{name}.csv"
    partial = out / f".{name}.csv.partial"
    rows = 0
    try:
        with pacsv.CSVWriter(partial, schema) as writer:
            for part in parts:
                writer.write_table(part)
                rows += part.num_rows
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return TableInfo(name=name, file=path.name, rows=rows, columns=list(schema.names))


def generate(
    out: Path,
    *,
    seed: int,
    size: int | None = None,
    csv: bool = False,
    progress: ProgressReporter | None = None,
) -> dict[str, Any]:
    """Write ``participants.csv`` and ``events.csv`` into ``out``; return the manifest body.

    ``size`` is the number of participants (default 300). The tables are the contract's
    declared tables, so they are CSV whether or not ``csv`` is asked for.
    """
    del csv  # the declared tables are always written as CSV
    count = DEFAULT_SIZE if size is None else size
    if count < 1:
        raise ValueError("size must be at least 1 participant")
    progress = progress or NullProgress()
    progress.start("ips: participants", count)
    people_parts: list[pa.Table] = []
    event_parts: list[pa.Table] = []
    planted: dict[str, int] = {}
    for block_no, first in enumerate(range(0, count, BLOCK)):
        n = min(BLOCK, count - first)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 4, block_no]))
        block = _Block(rng, first + 1, n)
        people, events = block.tables()
        people_parts.append(people)
        event_parts.append(events)
        for key, value in block.planted.items():
            planted[key] = planted.get(key, 0) + value
        progress.advance(n)
    tables = [
        _write_csv(out, "participants", people_parts, PARTICIPANTS_SCHEMA),
        _write_csv(out, "events", event_parts, EVENTS_SCHEMA),
    ]
    by_outcome = {outcome: 0 for outcome in OUTCOMES}
    for part in event_parts:
        for outcome, n in zip(
            *np.unique(part.column("outcome").to_numpy(zero_copy_only=False), return_counts=True),
            strict=True,
        ):
            by_outcome[str(outcome)] += int(n)
    high = sum(
        int(np.sum(p.column("support_need").to_numpy(zero_copy_only=False) == "high"))
        for p in people_parts
    )
    return {
        "tables": {t.name: t.as_dict() for t in tables},
        # The contract whose declared tables these are.
        "contracts": ["ips-employment-rate-card"],
        "planted": {
            "participants": count,
            "high_support_need": high,
            "rates": {
                "high_need_share": HIGH_NEED_SHARE,
                "p_work": dict(P_WORK),
                "first_job_months_mean": dict(FIRST_JOB_MONTHS),
                "extra_jobs_mean": EXTRA_JOBS,
                "job_months_mean": JOB_MONTHS,
                "p_13_weeks_per_job": float(np.exp(-WEEKS_13 / (JOB_MONTHS * DAYS_PER_MONTH))),
                "p_26_weeks_given_13": float(
                    np.exp(-(WEEKS_26 - WEEKS_13) / (JOB_MONTHS * DAYS_PER_MONTH))
                ),
                "leave_share": LEAVE_SHARE,
                "reported_after_leaving": REPORTED_AFTER_LEAVING,
                "no_job_but_13_weeks": NO_JOB_BUT_13_WEEKS,
                "job_before_inclusion": BEFORE_INCLUSION,
                "no_evidence": NO_EVIDENCE,
            },
            "events_by_outcome": by_outcome,
            "rule_breaking_events": planted,
            "inclusion": [INCLUSION_START.isoformat(), "2025-12-31"],
            "data_end": DATA_END.isoformat(),
        },
    }
