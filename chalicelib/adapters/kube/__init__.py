"""Kubernetes API access: release Secrets (and, later, the client)."""
