"""The test suite's IAM evaluator (tests/iam_policy.py) decides as IAM does on the cases the
Terraform tests rely on, and refuses what it cannot evaluate."""

from __future__ import annotations

import pytest

from tests.iam_policy import allowed

POLICY = {
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/in/*"},
        {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::b/in/secret/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
         "Condition": {"StringLike": {"s3:prefix": ["in/", "in/*"]}}},
    ]
}  # fmt: skip
TRUST = {
    "Statement": {
        "Effect": "Allow",
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x"},
        "Condition": {"StringEquals": {"sub": "repo:o/r:pull_request", "aud": "sts"}},
    }
}


def test_allow_deny_wildcards_and_conditions() -> None:
    assert allowed([POLICY], "s3:GetObject", "arn:aws:s3:::b/in/a.jpg")
    assert allowed([POLICY], "S3:getobject", "arn:aws:s3:::b/in/a.jpg")  # actions: any case
    assert not allowed([POLICY], "s3:GetObject", "arn:aws:s3:::b/IN/a.jpg")  # resources: exact
    assert not allowed([POLICY], "s3:GetObject", "arn:aws:s3:::b/in/secret/a.jpg")  # Deny wins
    assert not allowed([POLICY], "s3:PutObject", "arn:aws:s3:::b/in/a.jpg")  # implicit deny
    assert allowed([POLICY], "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "in/x.jpg"})
    assert not allowed([POLICY], "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "out/"})
    assert not allowed([POLICY], "s3:ListBucket", "arn:aws:s3:::b")  # a missing key fails
    # IAM has no [] classes: a bracket in a pattern is a literal character
    bracket = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "b/[ab]"}]}
    assert allowed([bracket], "s3:GetObject", "b/[ab]")
    assert not allowed([bracket], "s3:GetObject", "b/a")


def test_trust_needs_the_principal_and_every_condition() -> None:
    principal = ("Federated", "arn:aws:iam::1:oidc-provider/x")
    good = {"sub": "repo:o/r:pull_request", "aud": "sts"}
    action = "sts:AssumeRoleWithWebIdentity"
    assert allowed([TRUST], action, context=good, principal=principal)
    assert not allowed([TRUST], action, context={**good, "aud": "x"}, principal=principal)
    assert not allowed([TRUST], action, context={"sub": good["sub"]}, principal=principal)
    assert not allowed([TRUST], action, context=good, principal=("Federated", "other"))


def test_what_it_cannot_evaluate_fails_loudly() -> None:
    odd = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                          "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}  # fmt: skip
    with pytest.raises(NotImplementedError, match="IpAddress"):
        allowed([odd], "s3:GetObject", "x", {"aws:SourceIp": "10.1.1.1"})
