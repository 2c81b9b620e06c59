# A release declared in Terraform: installed on apply, upgraded when an input changes, uninstalled on destroy.
# The Charthouse stage is deployed beforehand (docs/DEPLOY.md); its stack output HelmReleaseFunctionName names the
# function this calls.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 6.0"
    }
  }
}

variable "charthouse_function" {
  description = "The stack output HelmReleaseFunctionName of the Charthouse stage."
  type        = string
  default     = "charthouse-prod-helm_release_invocation"
}

module "hello" {
  source        = "../../release"
  function_name = var.charthouse_function
  cluster       = "prod"
  namespace     = "web"
  name          = "hello"
  chart         = "private/hello"
  chart_version = "^0.1"
  values        = { greeting = "hi", replicas = 2 }
  options       = { create_namespace = true, timeout = "5m", wait = true }
}

module "hello_now" {
  source        = "../../release"
  function_name = var.charthouse_function
  cluster       = "prod"
  namespace     = "web"
  name          = "hello"
  read_only     = true
  depends_on    = [module.hello]
}

output "hello_revision" {
  value = module.hello.revision
}

output "hello_status" {
  value = module.hello_now.status
}
