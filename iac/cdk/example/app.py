"""A CDK app with one Helm release, two ways: Charthouse's ``HelmRelease`` and, for comparison,
``aws_eks.HelmChart``'s equivalent (commented out: it needs the cluster as a CDK ``ICluster``, a kubectl Lambda in
the cluster's VPC with cluster-admin, and runs helm within one 15-minute Lambda invocation).

    cdk synth --app "python iac/cdk/example/app.py"

What changes with Charthouse: the stack needs only the stage's service token (no kubectl handler, no VPC access,
no cluster-admin role in the stack); credentials stay in the service; helm may run past 15 minutes (the resource
waits up to an hour); a second stack or a person upgrading the same release meanwhile is refused by the release's
lease instead of leaving it pending-upgrade; and the values keep their types.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import App, CfnOutput, Fn, Stack
from constructs import Construct

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # iac/cdk, where charthouse_cdk lives

from charthouse_cdk import HelmRelease, HelmReleaseOptions  # noqa: E402


class WebStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, charthouse_stack: str = "charthouse-prod") -> None:
        super().__init__(scope, construct_id)
        web = HelmRelease(
            self,
            "Web",
            service_token=Fn.import_value(f"{charthouse_stack}-HelmReleaseServiceToken"),
            cluster="prod",
            namespace="web",
            name="web",
            chart="private/webapp",
            version="^0.1",
            values={"replicaCount": 2, "image": {"tag": "1.27"}},
            options=HelmReleaseOptions(create_namespace=True, wait=True, timeout="10m"),
        )
        CfnOutput(self, "WebRevision", value=web.revision)
        CfnOutput(self, "WebStatus", value=web.status)
        # The same release with aws_eks.HelmChart:
        #   cluster = aws_eks.Cluster.from_cluster_attributes(self, "Prod", cluster_name="prod",
        #       kubectl_role_arn="arn:aws:iam::123456789012:role/eks-admin", kubectl_layer=KubectlV31Layer(self, "K"),
        #       vpc=..., kubectl_private_subnet_ids=[...], kubectl_security_group_id=...)
        #   aws_eks.HelmChart(self, "WebChart", cluster=cluster, chart="webapp", repository="https://charts.example.com",
        #       release="web", namespace="web", version="0.1.0", values={"replicaCount": 2}, wait=True,
        #       timeout=Duration.minutes(10))


def build(app: App) -> WebStack:
    return WebStack(app, "web")


if __name__ == "__main__":
    app = App()
    build(app)
    app.synth()
