variable "function_name" {
  description = "The Charthouse stage's release function: the stack output HelmReleaseFunctionName."
  type        = string
}

variable "cluster" {
  description = "A cluster registered with Charthouse (PUT /v1/clusters/{cluster})."
  type        = string
}

variable "namespace" {
  description = "The release's namespace."
  type        = string
  default     = "default"
}

variable "name" {
  description = "The release's name (a DNS-1123 label, at most 53 characters)."
  type        = string
}

variable "chart" {
  description = "<repository>/<chart>, uploaded/<chart>, oci://host/path/chart or an https:// URL of a chart archive."
  type        = string
  default     = null
}

variable "chart_version" {
  description = "An exact version or a constraint (^1.2); null: the newest stable version."
  type        = string
  default     = null
}

variable "values" {
  description = "Values: an object (types kept: jsonencode) or a YAML document."
  type        = any
  default     = {}
}

variable "options" {
  description = "Install and upgrade options of the API (create_namespace, timeout, wait, atomic, max_history, ...)."
  type        = map(any)
  default     = {}
}

variable "read_only" {
  description = "Only read the release (a data source): nothing is installed, changed or uninstalled."
  type        = bool
  default     = false
}
