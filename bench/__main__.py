"""`python -m bench`: every city benchmark, one summary table (see bench/run.py)."""

import sys

from bench.run import main

sys.exit(main())
