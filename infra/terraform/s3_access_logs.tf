# S3 server access logs of the images bucket: who read, wrote or deleted which object, in a
# private log bucket of their own (a bucket must not log into itself). On by default when an
# environment is production (var.s3_access_logging).

resource "aws_s3_bucket" "access_logs" {
  count = local.use_access_logging ? 1 : 0

  #checkov:skip=CKV_AWS_18:This is the access log bucket; logging its own access would log into itself (or need a third bucket) for no audit gain.
  #checkov:skip=CKV_AWS_144:Access logs are an audit trail, not data to restore; cross-region replication would double their cost.
  #checkov:skip=CKV_AWS_145:S3 delivers server access logs only to buckets encrypted with SSE-S3; SSE-KMS default encryption is not supported for log target buckets.
  #checkov:skip=CKV2_AWS_62:Nothing consumes log objects as they arrive; they are read on demand (Athena, S3 Select).
  bucket        = local.access_log_bucket
  force_destroy = var.bucket_force_destroy

  lifecycle {
    precondition {
      condition     = length(local.access_log_bucket) <= 63
      error_message = "\"<bucket_name>-access-logs\" is longer than 63 characters: set access_log_bucket_name."
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  count  = local.use_access_logging ? 1 : 0
  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    object_ownership = "BucketOwnerEnforced" # log delivery is granted by the bucket policy
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  count  = local.use_access_logging ? 1 : 0
  bucket = aws_s3_bucket.access_logs[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  count  = local.use_access_logging ? 1 : 0
  bucket = aws_s3_bucket.access_logs[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  count  = local.use_access_logging ? 1 : 0
  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  count  = local.use_access_logging ? 1 : 0
  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}

data "aws_iam_policy_document" "access_logs" {
  count = local.use_access_logging ? 1 : 0

  statement {
    sid       = "S3ServerAccessLogsFromTheImagesBucket"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs[0].arn}/${local.access_log_prefix}*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.images.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.access_logs[0].arn,
      "${aws_s3_bucket.access_logs[0].arn}/*",
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

resource "aws_s3_bucket_policy" "access_logs" {
  count  = local.use_access_logging ? 1 : 0
  bucket = aws_s3_bucket.access_logs[0].id
  policy = data.aws_iam_policy_document.access_logs[0].json

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

resource "aws_s3_bucket_logging" "images" {
  count  = local.use_access_logging ? 1 : 0
  bucket = aws_s3_bucket.images.id

  target_bucket = aws_s3_bucket.access_logs[0].id
  target_prefix = local.access_log_prefix

  # S3 checks the log bucket's policy when logging is turned on
  depends_on = [aws_s3_bucket_policy.access_logs]
}
