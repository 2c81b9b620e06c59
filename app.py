"""Charthouse: the Chalice app. It only wires blueprints; everything else lives in chalicelib/."""

import logging

from chalice.app import Chalice

from chalicelib.api.admin import bp as admin
from chalicelib.api.cfn import bp as cfn
from chalicelib.api.charts import ARCHIVE_TYPES
from chalicelib.api.charts import bp as charts
from chalicelib.api.clusters import bp as clusters
from chalicelib.api.console import bp as console
from chalicelib.api.events import bp as events
from chalicelib.api.guard import bp as guard
from chalicelib.api.iac import bp as iac
from chalicelib.api.operations import bp as operations
from chalicelib.api.releases import bp as releases
from chalicelib.api.runtimes import bp as runtimes
from chalicelib.api.stream import bp as stream
from chalicelib.api.web import bp as web
from chalicelib.api.worker import bp as worker
from chalicelib.compat.cce import bp as cce
from chalicelib.compat.cloudpods import bp as cloudpods
from chalicelib.compat.helm_engine import bp as helm_engine
from chalicelib.compat.nautes import bp as nautes

app = Chalice(app_name="charthouse")
app.log.setLevel(logging.INFO)
logging.getLogger("chalicelib").setLevel(logging.INFO)
app.api.binary_types = sorted({*app.api.binary_types, *ARCHIVE_TYPES, "multipart/form-data"})  # uploads: bytes
app.register_blueprint(guard)  # authentication, authorization and audit of every request
app.register_blueprint(web)  # Chalice's own errors in the service's error shape
app.register_blueprint(clusters)
app.register_blueprint(releases)
app.register_blueprint(operations)
app.register_blueprint(admin)
app.register_blueprint(charts)
app.register_blueprint(runtimes)  # declared releases from Git, planned and kept in sync
app.register_blueprint(nautes)  # Nautes' deployment runtimes (compat/)
app.register_blueprint(worker)
app.register_blueprint(events)
app.register_blueprint(helm_engine)  # drop-in surfaces of the release APIs Charthouse replaces (docs/COMPAT.md)
app.register_blueprint(cloudpods)
app.register_blueprint(cfn)  # the CloudFormation custom resource Custom::HelmRelease
app.register_blueprint(iac)  # the function Terraform's aws_lambda_invocation calls (iac/terraform/release)
app.register_blueprint(console)  # the web console at /ui (static files; the pages call /v1)
app.register_blueprint(cce)  # Huawei CCE's release and chart API (compat)
app.register_blueprint(stream)  # the enrichment of the pipes from the table's stream to the event bus
