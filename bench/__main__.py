"""``python -m bench``: the benchmark suite (see ``bench/suite.py`` and docs/PERFORMANCE.md)."""

import sys

from bench.suite import main

sys.exit(main())
