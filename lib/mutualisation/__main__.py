"""``python -m mutualisation`` and the ``mutualisation`` command: the command line.

Ctrl-C while the command line itself is still being imported (about a second: Typer, Click,
Polars) ends with the same line and status as in a command, not with a traceback.
"""

import sys


def main() -> None:
    """Run the command line."""
    try:
        from mutualisation.cli import app
    except KeyboardInterrupt:
        print("interrompu : rien n'a été modifié par cette commande", file=sys.stderr)
        sys.exit(130)
    app(prog_name="mutualisation")


if __name__ == "__main__":
    main()
