"""Charthouse: everything but the wiring in app.py."""
