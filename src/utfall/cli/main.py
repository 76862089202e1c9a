"""The ``utfall`` console script.

Each command group lives in its own module with a ``register(app)`` function;
this module only assembles them and maps :class:`utfall.errors.UserError` to one
red line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from importlib import import_module

import typer
from rich.console import Console
from rich.markup import escape

from utfall.errors import UserError, UtfallError

app = typer.Typer(
    name="utfall",
    help="Outcome contracts as code: validate, test, evaluate and settle.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Command-group modules, each exposing ``register(app)``.
COMMAND_MODULES = (
    "utfall.cli.contract",
    "utfall.cli.settle",
    "utfall.cli.demo",
    "utfall.cli.evaluate",
    "utfall.cli.synth",
    "utfall.cli.keygen",
    "utfall.cli.verify",
    "utfall.cli.witness",
    "utfall.cli.simulate",
    "utfall.cli.knowledge",
    "utfall.cli.design",
)

for _module in COMMAND_MODULES:
    import_module(_module).register(app)

err_console = Console(stderr=True)


def report_error(error: UtfallError) -> None:
    """Print an error as one red line plus its detail lines on stderr."""
    err_console.print(f"[bold red]error:[/] {escape(error.message)}", highlight=False)
    for line in error.detail:
        err_console.print(line, highlight=False, markup=False)


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except UserError as error:
        report_error(error)
        sys.exit(2)
    except UtfallError as error:
        report_error(error)
        sys.exit(1)


if __name__ == "__main__":
    main()
