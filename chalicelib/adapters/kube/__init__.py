"""The Kubernetes API: the client, EKS tokens, and helm's release Secrets."""
