"""One module per noun (release, cluster, repo, chart, operation, completion); each has ``register(sub, parents)``."""
