"""EKS: a bearer token for a cluster, minted from the caller's AWS credentials (what ``aws eks get-token`` does)."""

from __future__ import annotations

import base64
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import ClusterAuthFailed, ClusterUnreachable

TOKEN_TTL_S = 60  # presign expiry; EKS accepts the token for 15 minutes from signing


def mint_token(sts_client: Any, cluster_name: str) -> str:
    """An EKS bearer token: a presigned STS GetCallerIdentity URL bound to the cluster by a signed header."""

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-k8s-aws-id"] = cluster_name

    sts_client.meta.events.register("before-sign.sts.GetCallerIdentity", add_header)
    try:
        url = sts_client.generate_presigned_url(
            "get_caller_identity", Params={}, ExpiresIn=TOKEN_TTL_S, HttpMethod="GET"
        )
    finally:
        sts_client.meta.events.unregister("before-sign.sts.GetCallerIdentity", add_header)
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def connect(session: Any, name: str, region: str) -> tuple[str, str, str]:
    """The cluster's endpoint, its CA (base64) and a fresh token, with ``session``'s credentials."""
    try:
        cluster = session.client("eks").describe_cluster(name=name)["cluster"]
        token = mint_token(session.client("sts"), name)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise ClusterUnreachable(f"EKS cluster {name} not found in {region}") from exc
        raise ClusterAuthFailed(f"EKS describe-cluster failed: {code}") from exc
    except BotoCoreError as exc:
        raise ClusterUnreachable("EKS API unreachable") from exc
    return str(cluster["endpoint"]), str(cluster["certificateAuthority"]["data"]), token
