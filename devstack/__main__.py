"""``python -m devstack``: run the local stack in the foreground (``make run``); ``python -m devstack token ...``:
manage its bearer tokens (``devstack/tokens.py``)."""

import sys

if sys.argv[1:2] == ["token"]:
    from devstack.tokens import main as tokens_main

    sys.exit(tokens_main(sys.argv[2:]))

from devstack.stack import main  # noqa: E402 - only when running the stack

sys.exit(main())
