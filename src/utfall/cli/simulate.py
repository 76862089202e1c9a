"""``utfall simulate`` (Monte Carlo of payouts) and ``utfall cashflows`` (one settlement's finance)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from utfall.cli.output import console, print_json
from utfall.services.contracts import parameter_overrides_parse

if TYPE_CHECKING:
    from utfall.core.finance.montecarlo import Summary
    from utfall.core.finance.report import FinanceReport
    from utfall.services.finance import SimulationOutcome


def register(app: typer.Typer) -> None:
    """Add ``utfall simulate`` and ``utfall cashflows`` to the app."""
    app.command("simulate")(simulate_command)
    app.command("cashflows")(cashflows_command)


def _sek(value: float) -> str:
    return f"{Decimal(repr(value)).quantize(Decimal('0.01')):,}".replace(",", " ")


def _money(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", " ")


def _percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f} %"


def _summary_row(table: Table, label: str, summary: Summary | None, show: Any, *extra: str) -> None:
    if summary is None:
        table.add_row(label, *(["–"] * 6), *extra)
        return
    figures = (summary.mean, summary.p5, summary.p25, summary.median, summary.p75, summary.p95)
    table.add_row(label, *(show(v) for v in figures), *extra)


def _distribution_table(title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for column in ("mean", "p5", "p25", "median", "p75", "p95"):
        table.add_column(column, justify="right")
    return table


def print_simulation(outcome: SimulationOutcome) -> None:
    """Readable simulation report."""
    contract = outcome.contract
    console.print(
        f"[bold]{escape(contract.title)}[/] ({contract.id} v{contract.version}): "
        f"{outcome.scenarios:,} scenarios".replace(",", " ")
    )
    inputs = Table(title="Inputs", title_justify="left")
    inputs.add_column("input")
    inputs.add_column("drawn from")
    inputs.add_column("clipped to its bounds", justify="right")
    for name, source in outcome.sources.items():
        inputs.add_row(name, escape(source), str(outcome.clipped.get(name, "")))
    console.print(inputs)
    payments = _distribution_table("Payments (SEK)")
    payments.add_column("P(paid)", justify="right")
    for payment_id, summary in outcome.payments.items():
        paid = _percent(outcome.payment_positive.get(payment_id))
        _summary_row(payments, payment_id, summary, _sek, paid)
    if outcome.to_financier is not None:
        _summary_row(payments, f"to {outcome.financier} in all", outcome.to_financier, _sek, "")
    console.print(payments)
    if outcome.invested_term:
        finance = _distribution_table(f"Financier {outcome.financier}")
        _summary_row(finance, f"invested ({outcome.invested_term}), SEK", outcome.invested, _sek)
        _summary_row(finance, "multiple", outcome.multiple, lambda v: f"{v:.4f}")
        _summary_row(finance, "IRR (per year)", outcome.irr, lambda v: _percent(v, 2))
        console.print(finance)
        console.print(f"probability of full repayment: [bold]{_percent(outcome.full_repayment)}[/]")
        console.print(f"probability of a premium:      [bold]{_percent(outcome.premium)}[/]")
        if outcome.irr is not None:
            console.print(
                f"expected IRR: [bold]{_percent(outcome.irr.mean, 2)}[/] "
                f"(median {_percent(outcome.irr.median, 2)})"
            )
        if outcome.schedule:
            console.print(f"timing: {escape(outcome.schedule)}")
    refused = sum(outcome.errors.values())
    console.print(
        f"settled {outcome.valid:,} scenarios".replace(",", " ")
        + (f"; {refused} refused as the exact engine would:" if refused else "")
    )
    for message, count in outcome.errors.items():
        console.print(f"  {count} × {escape(message)}")
    if outcome.fallback:
        console.print(
            f"{outcome.fallback} scenario(s) too close to a rounding or comparison boundary for "
            "floating point were settled one by one by the exact engine"
        )
    if outcome.checked:
        if outcome.disagreements:
            console.print(
                f"[red]{len(outcome.disagreements)} disagreement(s)[/] with the exact engine in "
                f"{outcome.checked} checked scenarios:"
            )
            for line in outcome.disagreements[:10]:
                console.print(f"  {escape(line)}")
        else:
            console.print(
                f"checked {outcome.checked} scenarios against the exact Decimal engine: "
                "all agree to the öre"
            )
    seconds = outcome.seconds
    console.print(
        f"time: {seconds.get('total', 0):.2f} s (settling {seconds.get('settle', 0):.2f} s, "
        f"summaries and IRR {seconds.get('summarise', 0):.2f} s, check {seconds.get('check', 0):.2f} s)"
    )
    for note in outcome.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")


def simulate_command(
    contract: Annotated[Path, typer.Argument(help="Contract YAML file.")],
    distribution: Annotated[
        list[str] | None,
        typer.Option(
            "--distribution",
            "-d",
            help="NAME=normal(mean, sd) | uniform(a, b) | triangular(a, mode, b) | lognormal(mu, "
            "sigma) | beta(a, b) | bernoulli(p) | binomial(n, p) | poisson(l) | choice(A: w, …) "
            "| VALUE (repeatable).",
        ),
    ] = None,
    scenarios: Annotated[
        Path | None,
        typer.Option(
            "--scenarios", help="Scenarios file (CSV, Parquet, JSON, YAML): one row each."
        ),
    ] = None,
    facts: Annotated[
        Path | None, typer.Option("--facts", help="Fixed values for the other inputs.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="What-if: NAME=VALUE (repeatable).")
    ] = None,
    size: Annotated[int, typer.Option("--n", "-n", help="Number of scenarios.")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 2016,
    plan: Annotated[
        Path | None, typer.Option("--plan", help="Finance plan: drawdowns and payment dates.")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="The contract's tables, for a plan whose cost reports are one."
        ),
    ] = None,
    invested: Annotated[
        str | None,
        typer.Option("--invested", help="The term that is the financier's invested amount."),
    ] = None,
    check: Annotated[
        int, typer.Option("--check", help="Scenarios to settle again with the exact engine.")
    ] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Monte Carlo of outcomes: payout distribution, repayment and premium odds, IRR."""
    from utfall.adapters.files import DirectoryTables, contract_read, facts_read
    from utfall.adapters.finance import finance_plan_read, scenarios_read
    from utfall.services.finance import finance_simulate

    if not distribution and scenarios is None:
        raise typer.BadParameter("give --distribution NAME=… or --scenarios FILE")
    document = contract_read(contract)
    outcome = finance_simulate(
        document,
        scenarios=scenarios_read(scenarios) if scenarios is not None else None,
        distributions=distribution or [],
        facts=facts_read(facts) if facts is not None else None,
        overrides=parameter_overrides_parse(param or []),
        size=size,
        seed=seed,
        plan=finance_plan_read(plan, document) if plan is not None else None,
        tables=DirectoryTables(data_dir, document.data) if data_dir is not None else None,
        invested_term=invested,
        check=check,
    )
    if as_json:
        print_json(outcome.as_dict())
    else:
        print_simulation(outcome)


# ----------------------------------------------------------------------------- cashflows


def report_json(report: FinanceReport) -> dict[str, Any]:
    """JSON form of a finance report (money as text with two decimals)."""
    return {
        "invested_sek": f"{report.invested:.2f}",
        "received_sek": f"{report.received:.2f}",
        "multiple": f"{report.multiple:.4f}" if report.multiple is not None else None,
        "irr": report.irr,
        "break_even": (
            {
                "month": report.break_even.month,
                "month_start": report.break_even.start.isoformat(),
            }
            if report.break_even
            else None
        ),
        "drawdowns": [
            {
                "date": d.date.isoformat(),
                "reported_sek": f"{d.reported:.2f}",
                "drawn_sek": f"{d.drawn:.2f}",
                "own_sek": f"{d.own:.2f}",
                "cumulative_drawn_sek": f"{d.cumulative_drawn:.2f}",
                "remaining_sek": f"{d.remaining:.2f}",
                "drawn_by_category_sek": {k: f"{v:.2f}" for k, v in d.drawn_by_category.items()},
            }
            for d in report.drawdowns
        ],
        "parties": {
            party: {"received_sek": f"{r:.2f}", "paid_sek": f"{p:.2f}", "net_sek": f"{r - p:.2f}"}
            for party, (r, p) in report.totals.items()
        },
        "flows": [
            {
                "date": f.date.isoformat(),
                "from": f.payer,
                "to": f.payee,
                "amount_sek": f"{f.amount:.2f}",
                "kind": f.kind,
                "label": f.label,
            }
            for f in report.flows
        ],
        "notes": list(report.notes),
    }


def print_report(report: FinanceReport, title: str) -> None:
    """Readable finance report of one settlement."""
    console.print(f"[bold]{escape(title)}[/]")
    draws = Table(title="Drawdowns against the cost reports", title_justify="left")
    for column in ("date", "reported", "drawn", "own", "drawn so far", "commitment left"):
        draws.add_column(column, justify="left" if column == "date" else "right")
    for d in report.drawdowns:
        draws.add_row(
            d.date.isoformat(),
            *(
                f"{v:,.2f}".replace(",", " ")
                for v in (d.reported, d.drawn, d.own, d.cumulative_drawn, d.remaining)
            ),
        )
    console.print(draws)
    categories: dict[str, Decimal] = defaultdict(Decimal)
    for d in report.drawdowns:
        for name, amount in d.reported_by_category.items():
            categories[name] += amount
    split = Table(title="Costs by category", title_justify="left")
    split.add_column("category")
    split.add_column("SEK", justify="right")
    for name, amount in categories.items():
        split.add_row(name, _money(amount))
    console.print(split)
    years: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    parties = sorted(report.totals)
    for flow in report.flows:
        for party in parties:
            signed = flow.signed_for(party)
            if signed:
                years[flow.date.year][party] += signed
    yearly = Table(
        title="Net cash flow per party and year (SEK; savings count as inflow)",
        title_justify="left",
    )
    yearly.add_column("year")
    for party in parties:
        yearly.add_column(party, justify="right")
    for year in sorted(years):
        yearly.add_row(str(year), *(f"{years[year][p]:,.0f}".replace(",", " ") for p in parties))
    console.print(yearly)
    console.print(
        f"financier: invested {_money(report.invested)}, received {_money(report.received)}"
        + (f", multiple {report.multiple:.4f}" if report.multiple is not None else "")
        + (
            f", IRR {report.irr * 100:.2f} % per year"
            if report.irr is not None
            else ", IRR undefined"
        )
    )
    if report.break_even is not None:
        console.print(
            f"commissioner: breaks even in month {report.break_even.month} "
            f"({report.break_even.start:%Y-%m}) and stays at or above zero"
        )
    else:
        console.print("commissioner: does not break even within the plan")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")


def cashflows_command(
    contract: Annotated[Path, typer.Argument(help="Contract YAML file.")],
    plan: Annotated[Path, typer.Option("--plan", help="Finance plan YAML.")],
    facts: Annotated[Path | None, typer.Option("--facts", help="Facts: YAML or JSON.")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="The contract's tables (NAME.csv or NAME.parquet): bound inputs are computed "
            "from them, and a plan's cost reports read from its table.",
        ),
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="What-if: NAME=VALUE (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Drawdowns, every party's cash flows, the financier's IRR and the break-even month."""
    from utfall.adapters.files import DirectoryTables, contract_read, facts_read
    from utfall.adapters.finance import finance_plan_read
    from utfall.services.contracts import contract_settle
    from utfall.services.finance import finance_cashflows

    document = contract_read(contract)
    loaded = finance_plan_read(plan, document)
    tables = DirectoryTables(data_dir, document.data) if data_dir is not None else None
    run = contract_settle(
        document,
        facts=facts_read(facts) if facts is not None else None,
        tables=tables,
        overrides=parameter_overrides_parse(param or []),
    )
    report = finance_cashflows(run, loaded, tables=tables)
    settlement = run.settlement
    if as_json:
        print_json(
            {
                "contract": settlement.contract_id,
                "version": settlement.contract_version,
                **report_json(report),
            }
        )
    else:
        print_report(
            report,
            f"{settlement.contract.title} ({settlement.contract_id} v{settlement.contract_version})",
        )
