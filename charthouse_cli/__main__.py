"""``python -m charthouse_cli``: the same as the ``charthouse`` console command."""

import sys

from .main import main

sys.exit(main())
