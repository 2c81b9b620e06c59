"""Charthouse: the Chalice app. It only wires blueprints; everything else lives in chalicelib/."""

import logging

from chalice import Chalice

from chalicelib.api import bp as api
from chalicelib.events import bp as events
from chalicelib.worker import bp as worker

app = Chalice(app_name="charthouse")
app.log.setLevel(logging.INFO)
logging.getLogger("chalicelib").setLevel(logging.INFO)
app.register_blueprint(api)
app.register_blueprint(worker)
app.register_blueprint(events)
