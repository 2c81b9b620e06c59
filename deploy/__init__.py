"""Deployment: the resources Chalice does not create itself, merged into its packaged template."""
