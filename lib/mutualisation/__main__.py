"""``python -m mutualisation`` runs the command line."""

from .cli import app

app(prog_name="mutualisation")
