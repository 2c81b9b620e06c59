"""AWS CDK constructs for Charthouse: a Helm release declared in a CDK app, installed, upgraded and uninstalled by
a Charthouse stage through its ``Custom::HelmRelease`` custom resource.

    from charthouse_cdk import HelmRelease

    web = HelmRelease(self, "Web", service_token=Fn.import_value("charthouse-prod-HelmReleaseServiceToken"),
                      cluster="prod", namespace="web", name="web", chart="private/webapp", version="^1.2",
                      values={"replicas": 2})
    CfnOutput(self, "WebRevision", value=web.revision)
"""

from charthouse_cdk.release import HelmRelease, HelmReleaseOptions

__all__ = ["HelmRelease", "HelmReleaseOptions"]
