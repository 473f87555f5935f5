"""The command line: a thin typer layer over the library (`app`), one module per group of commands."""
