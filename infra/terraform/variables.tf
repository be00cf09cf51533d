variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"
}

variable "project" {
  description = "Name prefix for every resource (Lambda functions, queues, topic, roles)."
  type        = string
  default     = "eventlens"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.project))
    error_message = "project must be 2-31 chars of lowercase letters, digits and dashes."
  }
}

variable "tags" {
  description = "Extra tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "bucket_name" {
  description = "Name of the S3 bucket receiving images (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase chars)."
  }
}

variable "bucket_force_destroy" {
  description = "Allow terraform destroy to delete a non-empty bucket (all object versions). Keep false in production."
  type        = bool
  default     = false
}

variable "s3_kms_key_arn" {
  description = "Optional customer-managed KMS key for the bucket (SSE-KMS). null = SSE-S3 (AES256)."
  type        = string
  default     = null
}

variable "environments" {
  description = "One entry per pipeline environment: S3 prefix, results table and log retention."
  type = map(object({
    prefix             = string
    table_name         = string
    log_retention_days = number
    ttl_days           = optional(number, 0)
  }))
  default = {
    beta = {
      prefix             = "rekognition-input/beta/"
      table_name         = "beta_results"
      log_retention_days = 7
      ttl_days           = 30
    }
    prod = {
      prefix             = "rekognition-input/prod/"
      table_name         = "prod_results"
      log_retention_days = 14
      ttl_days           = 0
    }
  }

  validation {
    condition     = alltrue([for e in values(var.environments) : endswith(e.prefix, "/")])
    error_message = "Every environment prefix must end with '/'."
  }

  validation {
    condition = alltrue([for e in values(var.environments) : contains(
      [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
      e.log_retention_days
    )])
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ...)."
  }
}

variable "trigger_mode" {
  description = "How S3 events reach the Lambdas: \"sqs\" (S3 -> SQS -> Lambda, with a DLQ) or \"direct\" (S3 -> Lambda)."
  type        = string
  default     = "sqs"

  validation {
    condition     = contains(["sqs", "direct"], var.trigger_mode)
    error_message = "trigger_mode must be \"sqs\" or \"direct\"."
  }
}

variable "analyzer" {
  description = "Label source used by the Lambdas: \"rekognition\" (Amazon Rekognition DetectLabels) or \"bundled\" (model shipped in the Lambda package)."
  type        = string
  default     = "rekognition"

  validation {
    condition     = contains(["rekognition", "bundled"], var.analyzer)
    error_message = "analyzer must be \"rekognition\" or \"bundled\"."
  }
}

variable "min_confidence" {
  description = "Minimum label confidence (0-100) kept in results."
  type        = number
  default     = 70

  validation {
    condition     = var.min_confidence >= 0 && var.min_confidence <= 100
    error_message = "min_confidence must be between 0 and 100."
  }
}

variable "max_labels" {
  description = "Maximum number of labels stored per image."
  type        = number
  default     = 10

  validation {
    condition     = var.max_labels >= 1 && var.max_labels <= 1000
    error_message = "max_labels must be between 1 and 1000."
  }
}

# --- Lambda -------------------------------------------------------------------------------

variable "create_lambdas" {
  description = "Create the Lambda functions, their roles, triggers and error alarms. false applies the bucket, queues, tables, topic and CI role only (e.g. before the first package is built, or on an emulator that cannot host Lambdas)."
  type        = bool
  default     = true
}

variable "lambda_package_path" {
  description = "Path of the Lambda zip built by `eventlens aws package --out dist/lambda.zip`."
  type        = string
  default     = "../../dist/lambda.zip"
}

variable "lambda_runtime" {
  description = "Python runtime of the Lambda functions."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.lambda_runtime)
    error_message = "lambda_runtime must be python3.11, python3.12 or python3.13."
  }

  # onnxruntime >= 1.17 has no wheels for python3.11's Amazon Linux 2 (glibc 2.26)
  validation {
    condition     = !(var.analyzer == "bundled" && var.lambda_runtime == "python3.11")
    error_message = "analyzer = \"bundled\" needs lambda_runtime python3.12 or later (onnxruntime does not run on python3.11's Amazon Linux 2)."
  }
}

variable "lambda_memory_mb" {
  description = "Lambda memory in MB (CPU scales with it; the bundled model runs faster with more)."
  type        = number
  default     = 256
}

variable "lambda_timeout_seconds" {
  description = "Lambda timeout in seconds. The SQS visibility timeout is set to 6x this value."
  type        = number
  default     = 60

  validation {
    condition     = var.lambda_timeout_seconds >= 1 && var.lambda_timeout_seconds <= 900
    error_message = "lambda_timeout_seconds must be between 1 and 900."
  }
}

variable "lambda_architecture" {
  description = "Lambda CPU architecture; must match the wheels inside the package."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

# --- SQS ----------------------------------------------------------------------------------

variable "sqs_max_receive_count" {
  description = "Receives before a message is moved to the dead-letter queue."
  type        = number
  default     = 3

  validation {
    condition     = var.sqs_max_receive_count >= 1 && var.sqs_max_receive_count <= 1000
    error_message = "sqs_max_receive_count must be between 1 and 1000."
  }
}

variable "sqs_batch_size" {
  description = "Messages per Lambda invocation from SQS."
  type        = number
  default     = 5
}

variable "sqs_maximum_concurrency" {
  description = "Upper bound of concurrent Lambda invocations per environment from its queue (2-1000)."
  type        = number
  default     = 10

  validation {
    condition     = var.sqs_maximum_concurrency >= 2 && var.sqs_maximum_concurrency <= 1000
    error_message = "sqs_maximum_concurrency must be between 2 and 1000."
  }
}

variable "dlq_retention_seconds" {
  description = "How long dead-lettered messages are kept (max 14 days)."
  type        = number
  default     = 1209600
}

# --- Lifecycle ----------------------------------------------------------------------------

variable "lifecycle_transition_days" {
  description = "Days after upload before images move to a cheaper storage class (0 = never)."
  type        = number
  default     = 30
}

variable "lifecycle_transition_storage_class" {
  description = "Storage class for old images."
  type        = string
  default     = "STANDARD_IA"

  validation {
    condition     = contains(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], var.lifecycle_transition_storage_class)
    error_message = "Unsupported storage class."
  }
}

variable "lifecycle_expiration_days" {
  description = "Days after upload before images are expired (0 = never)."
  type        = number
  default     = 365
}

variable "noncurrent_version_expiration_days" {
  description = "Days before noncurrent (overwritten/deleted) object versions are removed."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

# --- Monitoring ---------------------------------------------------------------------------

variable "alarm_email" {
  description = "Optional e-mail address subscribed to the failure topic (confirm the subscription mail)."
  type        = string
  default     = null
}

variable "alarm_period_seconds" {
  description = "Evaluation period of the Lambda-errors and DLQ-depth alarms."
  type        = number
  default     = 300
}

# --- GitHub Actions -----------------------------------------------------------------------

variable "github_repo" {
  description = "GitHub repository (OWNER/REPO) whose workflows may assume the CI role. null = no CI role."
  type        = string
  default     = null

  validation {
    condition     = var.github_repo == null || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repo))
    error_message = "github_repo must look like OWNER/REPO."
  }
}

variable "create_github_oidc_provider" {
  description = "Create the token.actions.githubusercontent.com OIDC provider (only one may exist per account; set false and pass github_oidc_provider_arn if it already exists)."
  type        = bool
  default     = true
}

variable "github_oidc_provider_arn" {
  description = "ARN of an existing GitHub OIDC provider, used when create_github_oidc_provider = false."
  type        = string
  default     = null
}

variable "dynamodb_deletion_protection" {
  description = "Protect the results tables against deletion (set false before terraform destroy)."
  type        = bool
  default     = false
}
