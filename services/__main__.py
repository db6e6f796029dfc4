"""The ``inbox`` command's entry point (also ``python -m services``), which loads the command
only when it runs.

A worker process the server spawns (the email parser's) imports its parent's main module again
before it starts working: this module, which costs it nothing, rather than the whole server.
"""

from __future__ import annotations


def main() -> None:
    """Run the ``inbox`` command."""
    from services.cli import main as command

    command()


if __name__ == "__main__":
    main()
