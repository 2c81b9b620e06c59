output "revision" {
  description = "The release's revision after the apply (0 when it does not exist)."
  value       = local.result.revision
}

output "status" {
  description = "helm's status of the release: deployed, failed, uninstalled, ..."
  value       = local.result.status
}

output "operation_id" {
  description = "The Charthouse operation of the last change (GET /v1/operations/{id}); null when only read."
  value       = try(local.result.operation_id, null)
}

output "exists" {
  description = "Whether the release exists (read_only: whether there is one to read)."
  value       = local.result.exists
}

output "chart_version" {
  description = "The chart version the release runs."
  value       = try(local.result.chart_version, "")
}

output "app_version" {
  description = "The chart's appVersion."
  value       = try(local.result.app_version, "")
}
