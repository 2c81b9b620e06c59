"""Blueprint: the Lambda function behind ``Custom::HelmRelease`` (its ARN is the resource's ServiceToken).

The handler only accepts the request as an operation (``custom_resource.CustomResource.handle``); the answer to
CloudFormation is sent when the operation ends, by whoever ends it. See ``custom_resource.py`` for the contract.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib import bootstrap

bp = Blueprint(__name__)


@bp.lambda_function(name="helm_release_resource")
def helm_release_resource(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CloudFormation invokes this asynchronously with a Create, Update or Delete request."""
    return bootstrap.get().custom_resource.handle(event)
