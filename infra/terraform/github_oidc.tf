# GitHub Actions deploy/CI role, assumed through OIDC (no long-lived keys). It may only upload
# images under the environment prefixes and read the results tables.

locals {
  github_oidc_provider_arn = !local.create_ci ? null : (
    var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : var.github_oidc_provider_arn
  )
}

resource "aws_iam_openid_connect_provider" "github" {
  count = local.create_ci && var.create_github_oidc_provider ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
  # AWS no longer checks these for GitHub's IdP (it trusts its own CA list), but the API still wants one.
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]
}

data "aws_iam_policy_document" "github_assume" {
  count = local.create_ci ? 1 : 0

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repo}:*"]
    }
  }
}

resource "aws_iam_role" "github" {
  count = local.create_ci ? 1 : 0

  name                 = "${var.project}-github-actions"
  description          = "Assumed by GitHub Actions in ${var.github_repo} via OIDC"
  assume_role_policy   = data.aws_iam_policy_document.github_assume[0].json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "github" {
  count = local.create_ci ? 1 : 0

  statement {
    sid       = "UploadInputImages"
    actions   = ["s3:PutObject"]
    resources = [for env in values(var.environments) : "${aws_s3_bucket.images.arn}/${env.prefix}*"]
  }

  statement {
    sid = "ReadResults"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:DescribeTable",
    ]
    resources = concat(
      [for t in aws_dynamodb_table.results : t.arn],
      [for t in aws_dynamodb_table.results : "${t.arn}/index/*"],
    )
  }

  dynamic "statement" {
    for_each = local.use_s3_kms ? [1] : []
    content {
      sid       = "EncryptUploads"
      actions   = ["kms:GenerateDataKey"]
      resources = [var.s3_kms_key_arn]
    }
  }
}

resource "aws_iam_role_policy" "github" {
  count = local.create_ci ? 1 : 0

  name   = "${var.project}-github-actions"
  role   = aws_iam_role.github[0].id
  policy = data.aws_iam_policy_document.github[0].json
}
