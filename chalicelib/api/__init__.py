"""Chalice blueprints only: parse -> core -> JSON."""
