"""The local stand-in for ``aws lambda invoke``: call one of the app's Lambda handlers with an event from stdin.

    python -m devstack.invoke helm_release_resource < event.json

Run from the project directory with the stack's environment (``Stack.env()``); prints the handler's JSON result.
The custom resource's end-to-end test invokes it so, as CloudFormation would invoke the deployed function.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from typing import Any


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="invoke %(levelname)s %(name)s: %(message)s")
    sys.path.insert(0, os.getcwd())
    from devstack.worker import LocalContext

    # Imported by name, not followed by the type checker: app.py only wires chalice objects together.
    app: Any = importlib.import_module("app").app
    handler = app.handler_map[argv[1]]
    result = handler(json.load(sys.stdin), LocalContext(60))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
