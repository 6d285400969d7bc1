"""`python -m microseg` runs the CLI."""

from microseg.cli import app

app()
