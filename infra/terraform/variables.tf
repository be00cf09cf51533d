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
    # a production environment: its tables get deletion protection and the bucket it shares
    # gets server access logs (unless dynamodb_deletion_protection / s3_access_logging say so)
    production = optional(bool, false)
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
      production         = true
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
  description = "Label source of environments that `analyzers` does not list: \"rekognition\" (Amazon Rekognition DetectLabels) or \"bundled\" (model shipped in the Lambda package)."
  type        = string
  default     = "rekognition"

  validation {
    condition     = contains(["rekognition", "bundled"], var.analyzer)
    error_message = "analyzer must be \"rekognition\" or \"bundled\"."
  }
}

variable "analyzers" {
  description = "Analyzers per environment, as EVENTLENS_ANALYZERS names them (the first supplies the labels), e.g. { beta = [\"rekognition\", \"rekognition-faces\", \"duplicates\"] }. Environments not listed get [analyzer]. The Lambda package must carry them (`eventlens aws package --analyzers ...`); each Rekognition one adds its API to the role, `duplicates` a hash table, `people` a people table (face descriptors: biometric data), `rekognition-video` the Rekognition Video completion topic and function."
  type        = map(list(string))
  default     = {}

  validation {
    condition = alltrue([for names in values(var.analyzers) : length(names) > 0 && alltrue([for n in names : contains([
      "rekognition", "rekognition-faces", "rekognition-text", "rekognition-moderation", "rekognition-video",
      "labels", "bundled", "faces", "text", "video", "duplicates", "people",
    ], n)])])
    error_message = "analyzers: each list needs at least one of rekognition, rekognition-faces, rekognition-text, rekognition-moderation, rekognition-video, labels (bundled), faces, text, video, duplicates, people."
  }

  validation {
    condition     = alltrue([for env in keys(var.analyzers) : contains(keys(var.environments), env)])
    error_message = "analyzers: every key must be an environment of var.environments."
  }
}

variable "max_pixels" {
  description = "Largest image canvas analysed (EVENTLENS_MAX_PIXELS); larger ones get an error record."
  type        = number
  default     = 120000000

  validation {
    condition     = var.max_pixels >= 1
    error_message = "max_pixels must be at least 1."
  }
}

variable "duplicate_max_distance" {
  description = "duplicates analyzer: the largest pHash distance (bits) counted as a near copy; the DynamoDB index finds up to 7."
  type        = number
  default     = 6

  validation {
    condition     = var.duplicate_max_distance >= 0 && var.duplicate_max_distance <= 7
    error_message = "duplicate_max_distance must be between 0 and 7 (the hash table's 8 pHash bands find near copies up to 7 bits apart)."
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

variable "package_type" {
  description = "How the code reaches Lambda: \"Zip\" (the zip at lambda_package_path, uploaded to S3 by this module; 250 MB unzipped) or \"Image\" (a container image in ECR, 10 GB; see infra/lambda-image)."
  type        = string
  default     = "Zip"

  validation {
    condition     = contains(["Zip", "Image"], var.package_type)
    error_message = "package_type must be \"Zip\" or \"Image\"."
  }
}

variable "lambda_package_path" {
  description = "Zip packages: path of the zip built by `eventlens aws package --out dist/lambda.zip`, uploaded to lambda_artifacts_bucket."
  type        = string
  default     = "../../dist/lambda.zip"
}

variable "lambda_artifacts_bucket" {
  description = "Zip packages: bucket the zip is uploaded to (yours, existing). null = the images bucket, under lambda_artifacts_prefix (outside the analysed prefixes)."
  type        = string
  default     = null
}

variable "lambda_artifacts_prefix" {
  description = "Zip packages: key prefix of the uploaded zip."
  type        = string
  default     = "lambda-artifacts/"

  validation {
    condition     = var.lambda_artifacts_prefix == "" || endswith(var.lambda_artifacts_prefix, "/")
    error_message = "lambda_artifacts_prefix must be empty or end with '/'."
  }

  validation {
    condition     = !startswith(var.lambda_artifacts_prefix, "rekognition-input/")
    error_message = "lambda_artifacts_prefix must lie outside the analysed rekognition-input/ prefixes."
  }
}

variable "lambda_image_uri" {
  description = "Image packages: the image to run (REPOSITORY_URI:TAG or @sha256:...). null = the module's ECR repository with lambda_image_tag."
  type        = string
  default     = null
}

variable "lambda_image_tag" {
  description = "Image packages: tag pushed to the module's ECR repository (tags are immutable: use a new one per build, e.g. the git commit)."
  type        = string
  default     = null
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
    condition = !(var.lambda_runtime == "python3.11" && (var.analyzer == "bundled" || anytrue([
      for names in values(var.analyzers) : length(setintersection(names, ["labels", "bundled", "faces", "text", "video", "people"])) > 0
    ])))
    error_message = "analyzer = \"bundled\" (or a bundled analyzer in analyzers: labels, faces, text, video) needs lambda_runtime python3.12 or later (onnxruntime does not run on python3.11's Amazon Linux 2)."
  }
}

variable "lambda_memory_mb" {
  description = "Lambda memory in MB of every environment's handler (CPU scales with it: one vCPU at 1769 MB, two at 3538 MB). null: 1769 MB (one vCPU) where an environment runs a bundled analyzer (labels, faces, text, video, people: CPU-bound models, whose cold start docs/performance.md gives at one vCPU; 256 MB would give them about 0.14 of one), 256 MB elsewhere (Rekognition analyzers wait on the API)."
  type        = number
  default     = null

  validation {
    condition     = coalesce(var.lambda_memory_mb, 256) >= 128 && coalesce(var.lambda_memory_mb, 256) <= 10240
    error_message = "lambda_memory_mb must be between 128 and 10240 (or null)."
  }
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

variable "provisioned_concurrency" {
  description = "Sandboxes of each environment's function that Lambda keeps initialised (0 = none). The handler builds its app in the init phase (AWS clients made, models opened), so an event that reaches such a sandbox is answered as a warm one (bundled analyzers: ~0.15 s instead of a ~1.2 s cold start at 1,769 MB). Above 0 each deploy publishes a version behind the alias `live`, which the triggers invoke; provisioned concurrency is billed while configured."
  type        = number
  default     = 0

  validation {
    condition     = var.provisioned_concurrency >= 0
    error_message = "provisioned_concurrency must be at least 0."
  }

  validation {
    condition     = var.reserved_concurrency == null ? true : var.provisioned_concurrency <= var.reserved_concurrency
    error_message = "provisioned_concurrency must not exceed reserved_concurrency."
  }
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) each environment's function; null = unreserved, 0 = stopped. Size it to Rekognition's TPS quota: concurrency x images per second per execution x Rekognition calls per image <= the quota (see docs/deploy.md)."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null ? true : var.reserved_concurrency >= 0
    error_message = "reserved_concurrency must be null or at least 0."
  }

  # Below the event source mapping's maximum, SQS batches get throttled and count as receives.
  validation {
    condition     = var.reserved_concurrency == null ? true : var.trigger_mode == "direct" || var.reserved_concurrency == 0 || var.reserved_concurrency >= var.sqs_maximum_concurrency
    error_message = "reserved_concurrency must be at least sqs_maximum_concurrency in sqs mode (throttled batches go back to the queue and use up their receives)."
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

  # The bundled models' results are checked on x86_64 CPUs with and without VNNI only
  # (quantised kernels differ by CPU; see `eventlens doctor`), not yet on arm64.
  validation {
    condition = !(var.lambda_architecture == "arm64" && (var.analyzer == "bundled" || anytrue([
      for names in values(var.analyzers) : length(setintersection(names, ["labels", "bundled", "faces", "text", "video", "people"])) > 0
    ])))
    error_message = "lambda_architecture = \"arm64\" is not supported with bundled analyzers (analyzer = \"bundled\", or labels, faces, text, video in analyzers): their results are tested on x86_64 only. Use x86_64, or Rekognition analyzers on arm64."
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

variable "handler_max_attempts" {
  description = "SQS receives after which the handler writes an error record and publishes the failure instead of leaving the message for another try (EVENTLENS_MAX_ATTEMPTS). null = sqs_max_receive_count, so a failing image gets its error record before SQS would move it to the DLQ."
  type        = number
  default     = null

  validation {
    condition     = var.handler_max_attempts == null ? true : var.handler_max_attempts >= 1 && var.handler_max_attempts <= var.sqs_max_receive_count
    error_message = "handler_max_attempts must be between 1 and sqs_max_receive_count: with more, SQS moves a failing message to the DLQ before the handler writes its error record or publishes the failure."
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
  description = "GitHub repository (OWNER/REPO) whose workflows may assume the CI roles. null = no CI roles."
  type        = string
  default     = null

  validation {
    condition     = var.github_repo == null || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repo))
    error_message = "github_repo must look like OWNER/REPO."
  }
}

variable "github_oidc_subjects" {
  description = "Per environment, the GitHub OIDC subject (after repo:OWNER/REPO:) allowed to assume that environment's CI role, which may upload to its prefix and read its table only. Environments not listed get no CI role."
  type        = map(string)
  default = {
    beta = "pull_request"        # workflows run for pull requests
    prod = "ref:refs/heads/main" # workflows run for pushes to main
  }

  validation {
    condition     = alltrue([for env in keys(var.github_oidc_subjects) : contains(keys(var.environments), env)])
    error_message = "github_oidc_subjects: every key must be an environment of var.environments."
  }

  validation {
    condition     = alltrue([for s in values(var.github_oidc_subjects) : length(s) > 0 && !strcontains(s, "*") && !strcontains(s, "?")])
    error_message = "github_oidc_subjects: exact subjects only (no wildcards), e.g. pull_request or ref:refs/heads/main."
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
  description = "Protect the tables against deletion: null = the tables of production environments (prod by default); true or false = every table (set false before terraform destroy)."
  type        = bool
  default     = null
}

variable "s3_access_logging" {
  description = "S3 server access logs of the images bucket (who read, wrote or deleted which object), kept in a log bucket of their own: null = on when an environment is production (prod by default); true or false = always or never."
  type        = bool
  default     = null
}

variable "access_log_bucket_name" {
  description = "Name of the access log bucket; null = \"<bucket_name>-access-logs\"."
  type        = string
  default     = null
}

variable "access_log_retention_days" {
  description = "Days the access logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days must be at least 1."
  }
}
