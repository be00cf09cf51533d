# Real AWS. Tests talk to an emulator by dropping an override.tf next to these files
# (see emulator.tf.example); nothing emulator-specific lives in the module itself.
provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge({ Project = var.project }, var.tags)
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}
