#!/usr/bin/env python3
"""The parents' bot of the city's Online School: `python run_bot.py [COMMAND]`.

`python run_bot.py` (or `run`) starts every configured front end, the scheduler and
the web server in one process; `python run_bot.py --help` lists the other commands
(school_bot/cli/).
"""

from __future__ import annotations

import sys

from school_bot.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
