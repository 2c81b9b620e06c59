"""Charthouse: the Chalice app. It only wires blueprints; everything else lives in chalicelib/."""

import logging

from chalice import Chalice

from chalicelib.admin_api import bp as admin
from chalicelib.api import bp as api
from chalicelib.cfn import bp as cfn
from chalicelib.charts_api import ARCHIVE_TYPES
from chalicelib.charts_api import bp as charts
from chalicelib.events import bp as events
from chalicelib.guard import bp as guard
from chalicelib.worker import bp as worker

app = Chalice(app_name="charthouse")
app.log.setLevel(logging.INFO)
logging.getLogger("chalicelib").setLevel(logging.INFO)
app.api.binary_types = sorted({*app.api.binary_types, *ARCHIVE_TYPES})  # chart uploads arrive as bytes
app.register_blueprint(guard)  # authentication, authorization and audit of every request
app.register_blueprint(api)
app.register_blueprint(admin)
app.register_blueprint(charts)
app.register_blueprint(worker)
app.register_blueprint(events)
app.register_blueprint(cfn)  # the CloudFormation custom resource Custom::HelmRelease
