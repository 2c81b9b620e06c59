"""One module or package per outside thing (DynamoDB, SQS, Secrets Manager, S3, EventBridge, helm, Kubernetes, HTTP)."""
