resource "aws_s3_bucket" "images" {
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; input images are re-uploadable and results live in DynamoDB with PITR.
  #checkov:skip=CKV_AWS_145:SSE-S3 is the default so S3 -> SQS/Lambda and CI uploads need no key grants; set var.s3_kms_key_arn to use a customer-managed KMS key (aws_s3_bucket_server_side_encryption_configuration.images).
  bucket        = var.bucket_name
  force_destroy = var.bucket_force_destroy
}

resource "aws_s3_bucket_ownership_controls" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "images" {
  bucket = aws_s3_bucket.images.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "images" {
  bucket = aws_s3_bucket.images.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.use_s3_kms ? "aws:kms" : "AES256"
      kms_master_key_id = var.s3_kms_key_arn
    }
    bucket_key_enabled = local.use_s3_kms
  }
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.images.arn,
      "${aws_s3_bucket.images.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "images" {
  bucket = aws_s3_bucket.images.id
  policy = data.aws_iam_policy_document.bucket.json

  # Applying a policy while the public access block is still being created can fail.
  depends_on = [aws_s3_bucket_public_access_block.images]
}

resource "aws_s3_bucket_lifecycle_configuration" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    id     = "input-images"
    status = "Enabled"

    filter {
      prefix = "rekognition-input/"
    }

    dynamic "transition" {
      for_each = var.lifecycle_transition_days > 0 ? [1] : []
      content {
        days          = var.lifecycle_transition_days
        storage_class = var.lifecycle_transition_storage_class
      }
    }

    dynamic "expiration" {
      for_each = var.lifecycle_expiration_days > 0 ? [1] : []
      content {
        days = var.lifecycle_expiration_days
      }
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Every deployment uploads a new version of the Lambda zip: keep the old ones a month.
  dynamic "rule" {
    for_each = var.lambda_artifacts_bucket == null && var.lambda_artifacts_prefix != "" ? [1] : []
    content {
      id     = "lambda-artifacts"
      status = "Enabled"

      filter {
        prefix = var.lambda_artifacts_prefix
      }

      noncurrent_version_expiration {
        noncurrent_days = 30
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = 7
      }
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Lifecycle rules on a versioned bucket must be applied after versioning is enabled.
  depends_on = [aws_s3_bucket_versioning.images]
}

# One notification resource per bucket (S3 allows only one configuration): a queue per
# environment prefix in "sqs" mode, or the environment's Lambda in "direct" mode. Removals are
# sent too: the handler marks the record of a deleted object deleted (deleted_at).
resource "aws_s3_bucket_notification" "images" {
  count  = local.use_sqs || var.create_lambdas ? 1 : 0
  bucket = aws_s3_bucket.images.id

  dynamic "queue" {
    for_each = local.queue_envs
    content {
      id            = "${queue.key}-images"
      queue_arn     = aws_sqs_queue.events[queue.key].arn
      events        = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
      filter_prefix = queue.value.prefix
    }
  }

  dynamic "lambda_function" {
    for_each = local.use_sqs ? {} : local.lambda_envs
    content {
      id                  = "${lambda_function.key}-images"
      lambda_function_arn = local.handler_target_arns[lambda_function.key]
      events              = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
      filter_prefix       = lambda_function.value.prefix
    }
  }

  depends_on = [aws_lambda_permission.s3]
}
