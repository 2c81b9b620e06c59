# One Helm release that Charthouse installs on create, upgrades on change (or replaces, when cluster, namespace or
# name change) and uninstalls on destroy: aws_lambda_invocation calls the release function on each of them
# (lifecycle_scope = "CRUD" adds {"tf": {"action", "prev_input"}} to the input). The function waits for the
# operation and answers the release; a failed operation fails the apply with its error.

locals {
  release = {
    cluster   = var.cluster
    namespace = var.namespace
    name      = var.name
  }
  input = merge(local.release, {
    chart   = var.chart
    version = var.chart_version
    values  = var.values
    options = var.options
  })
  result = var.read_only ? jsondecode(data.aws_lambda_invocation.read[0].result) : jsondecode(aws_lambda_invocation.release[0].result)
}

resource "aws_lambda_invocation" "release" {
  count           = var.read_only ? 0 : 1
  function_name   = var.function_name
  lifecycle_scope = "CRUD"
  input           = jsonencode(local.input)

  lifecycle {
    precondition {
      condition     = var.chart != null
      error_message = "chart is required unless read_only is true."
    }
  }
}

data "aws_lambda_invocation" "read" {
  count         = var.read_only ? 1 : 0
  function_name = var.function_name
  input         = jsonencode(merge(local.release, { read = true }))
}
