"""Front-end commands: run (the whole product) and demo (the console chat)."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Filled in by the Telegram/console work."""
