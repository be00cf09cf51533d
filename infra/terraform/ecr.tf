# package_type = "Image": the repository the Lambda container image is pushed to (unless
# lambda_image_uri names an image elsewhere). Build and push: docs/deploy.md.

resource "aws_ecr_repository" "lambda" {
  count = local.create_ecr ? 1 : 0

  name                 = "${var.project}-lambda"
  image_tag_mutability = "IMMUTABLE" # a tag always means the same image; push a new tag per build
  force_delete         = var.bucket_force_destroy

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS" # the AWS-managed ECR key
  }
}

resource "aws_ecr_lifecycle_policy" "lambda" {
  count = local.create_ecr ? 1 : 0

  repository = aws_ecr_repository.lambda[0].name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 20 newest images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 20 }
      action       = { type = "expire" }
    }]
  })
}

# Lambda pulls the image with its service principal, for this account's functions only.
data "aws_iam_policy_document" "ecr_lambda_pull" {
  count = local.create_ecr ? 1 : 0

  statement {
    sid     = "LambdaPull"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "aws:SourceArn"
      values = [
        for name in concat(values(local.function_names), values(local.video_function_names)) :
        "arn:${local.partition}:lambda:${data.aws_region.current.name}:${local.account_id}:function:${name}"
      ]
    }
  }
}

resource "aws_ecr_repository_policy" "lambda" {
  count = local.create_ecr ? 1 : 0

  repository = aws_ecr_repository.lambda[0].name
  policy     = data.aws_iam_policy_document.ecr_lambda_pull[0].json
}
