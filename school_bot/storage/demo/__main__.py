"""`python -m school_bot.storage.demo FOLDER ...` (see `command.main`)."""

import sys

from .command import main

sys.exit(main())
