"""Blueprint: the Lambda function Terraform's ``aws_lambda_invocation`` invokes (module ``iac/terraform/release``,
``lifecycle_scope = "CRUD"``). It answers the release as the invocation's result, or fails the apply with the
operation's error. See ``core/terraform.py`` for the contract.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib import bootstrap
from chalicelib.core.terraform import InvocationFailed, TerraformReleases, refusal
from chalicelib.errors import CharthouseError

bp = Blueprint(__name__)

ANSWER_MARGIN_S = 5.0  # kept from the function's time limit to answer
DEFAULT_BUDGET_S = 840.0  # without a Lambda context (tests, local invocations): the worker's limit and a margin


class ReleaseInvocationFailed(Exception):
    """Raised to fail the invocation: Lambda reports it as a function error and Terraform fails the apply with its
    message (the operation's code, message and diagnosis summary; never a credential)."""


@bp.lambda_function(name="helm_release_invocation")
def helm_release_invocation(event: Any, context: Any) -> dict[str, Any]:
    """Create, update, delete or read one release, waiting for its operation within the function's time limit."""
    d = bootstrap.get()
    releases = TerraformReleases(d.releases, d.limits)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    budget = remaining() / 1000 - ANSWER_MARGIN_S if callable(remaining) else DEFAULT_BUDGET_S
    try:
        return releases.handle(event, budget)
    except InvocationFailed as exc:
        raise ReleaseInvocationFailed(str(exc)) from None
    except CharthouseError as exc:
        raise ReleaseInvocationFailed(refusal(exc)) from None
