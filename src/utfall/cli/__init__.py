"""Command-line interface: thin Typer shells over :mod:`utfall.services`."""
