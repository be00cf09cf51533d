resource "aws_dynamodb_table" "results" {
  for_each = var.environments

  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS-owned/managed DynamoDB key (server_side_encryption enabled); a customer-managed key adds cost and key-policy coupling without a requirement for it.
  name         = each.value.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "filename"

  attribute {
    name = "filename"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = var.dynamodb_deletion_protection

  tags = {
    Environment = each.key
  }
}
