"""``python -m devstack``: run the local stack in the foreground (``make run``)."""

import sys

from devstack.stack import main

sys.exit(main())
