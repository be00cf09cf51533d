# GitHub Actions roles, assumed through OIDC (no long-lived keys): one per environment, each
# trusted for one exact subject (pull requests for beta, pushes to main for prod by default),
# each allowed to upload under its own prefix and read its own table, nothing else. So a pull
# request's workflow cannot write to prod.

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
  for_each = local.github_envs

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
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repo}:${var.github_oidc_subjects[each.key]}"]
    }
  }
}

resource "aws_iam_role" "github" {
  for_each = local.github_envs

  name                 = "${var.project}-github-${each.key}"
  description          = "GitHub Actions in ${var.github_repo} (${var.github_oidc_subjects[each.key]}) uploading to ${each.key}"
  assume_role_policy   = data.aws_iam_policy_document.github_assume[each.key].json
  max_session_duration = 3600

  tags = {
    Environment = each.key
  }
}

data "aws_iam_policy_document" "github" {
  for_each = local.github_envs

  statement {
    sid       = "UploadInputImages"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.images.arn}/${each.value.prefix}*"]
  }

  statement {
    sid = "ReadResults"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:DescribeTable",
    ]
    resources = [
      aws_dynamodb_table.results[each.key].arn,
      "${aws_dynamodb_table.results[each.key].arn}/index/*",
    ]
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
  for_each = local.github_envs

  name   = "${var.project}-github-${each.key}"
  role   = aws_iam_role.github[each.key].id
  policy = data.aws_iam_policy_document.github[each.key].json
}
