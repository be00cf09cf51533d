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

  attribute {
    name = "environment"
    type = "S"
  }

  attribute {
    name = "timestamp"
    type = "S"
  }

  # Newest-first listings and time windows (dashboard, `eventlens results`) read this index
  # instead of scanning the table. One partition key value per table: fine up to about 1,000
  # records written per second per environment.
  global_secondary_index {
    name            = "by_time"
    hash_key        = "environment"
    range_key       = "timestamp"
    projection_type = "ALL"
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

  deletion_protection_enabled = local.deletion_protection[each.key]

  tags = {
    Environment = each.key
  }
}

# The duplicates analyzer's index (eventlens.results.dynamodb_hashes), per environment that
# runs it: one item per image and one per pHash band, so a look-up is 1 + 8 queries.
resource "aws_dynamodb_table" "hashes" {
  for_each = local.hash_envs

  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS-owned/managed DynamoDB key (server_side_encryption enabled), as the results tables.
  name         = local.hash_table_names[each.key]
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "sha256"
    type = "S"
  }

  attribute {
    name = "first_seen"
    type = "S"
  }

  # Exact copies: the image items only (band items carry no sha256).
  global_secondary_index {
    name               = "by_sha256"
    hash_key           = "sha256"
    range_key          = "first_seen"
    projection_type    = "INCLUDE"
    non_key_attributes = ["filename"]
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = local.deletion_protection[each.key]

  tags = {
    Environment = each.key
  }
}

# The people analyzer's faces and people (eventlens.results.people_dynamodb), per environment
# that runs it: face items per photo, person items in one partition (read once per warm
# Lambda, then only the changed ones through by_seq), name items, an id counter.
resource "aws_dynamodb_table" "people" {
  for_each = local.people_envs

  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS-owned/managed DynamoDB key (server_side_encryption enabled), as the results tables.
  name         = local.people_table_names[each.key]
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "seq"
    type = "N"
  }

  attribute {
    name = "person"
    type = "N"
  }

  # The people changed since a warm Lambda last looked (person items only carry seq).
  local_secondary_index {
    name            = "by_seq"
    range_key       = "seq"
    projection_type = "ALL"
  }

  # A person's photos: the face items (name items call their person "owner").
  global_secondary_index {
    name            = "by_person"
    hash_key        = "person"
    range_key       = "pk"
    projection_type = "KEYS_ONLY"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = local.deletion_protection[each.key]

  tags = {
    Environment = each.key
  }
}
