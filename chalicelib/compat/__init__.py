"""Translation blueprints for the release APIs Charthouse replaces.

Each module answers one API's routes in that API's shapes, mapping them onto the same core operations,
authorization verbs, audit and redaction as ``/v1`` (through ``bootstrap``; never the store or helm directly).
"""
