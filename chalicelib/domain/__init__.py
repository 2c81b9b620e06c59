"""Pure rules and data: no boto3, kubernetes, subprocess, network or chalice import."""
