"""``python -m devstack token create NAME`` / ``token delete NAME`` / ``token list``: bearer tokens of the running
local stack (``make run``), written straight to its table. A new token is printed once; only its hash is kept."""

from __future__ import annotations

import sys

import boto3

from chalicelib.adapters.store import Store
from chalicelib.core.auth import Tokens
from chalicelib.errors import CharthouseError

from .aws import CREDS

USAGE = "usage: python -m devstack token create NAME | delete NAME | list   (the stack of `make run` must be running)"


def main(argv: list[str], port: int = 4567) -> int:  # DynamoDB Local of `make run` (StackConfig.dynamodb_port)
    dynamodb = boto3.resource("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", **CREDS)
    tokens = Tokens(Store(dynamodb, "charthouse"))
    try:
        if argv[:1] == ["create"] and len(argv) == 2:
            print(tokens.create(argv[1]))
        elif argv[:1] == ["delete"] and len(argv) == 2:
            tokens.delete(argv[1])
        elif argv == ["list"]:
            for entry in tokens.all():
                print(f"{entry['name']}\t{entry['created_at']}")
        else:
            print(USAGE, file=sys.stderr)
            return 2
    except CharthouseError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0
