"""Translation blueprints for the release APIs Charthouse replaces.

Each module speaks one seed API's paths and shapes and translates them onto ``core`` (through the same services
the ``/v1`` routes use); none reaches the store, helm or another adapter directly.
"""
