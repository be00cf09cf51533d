"""A small, strict IAM policy evaluator for the Terraform tests (moto has no policy simulator,
and its access-control code skips the condition operators it does not know).

Covers what the module's policies use: Allow/Deny, Action/NotAction, Resource/NotResource and
Principal with ``*``/``?`` wildcards, and the condition operators StringEquals, StringLike,
ArnEquals, ArnLike and Bool. Anything else raises, so a policy the evaluator cannot read fails
the test instead of passing it. An explicit Deny wins; otherwise an Allow is needed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, case: bool = True) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    # IAM wildcards: * and ? only; fnmatch's [] classes must not apply
    escaped = pattern.replace("[", "[[]")
    return fnmatch.fnmatchcase(value, escaped)


def _condition_holds(operator: str, key: str, wanted: Any, context: Mapping[str, str]) -> bool:
    if key not in context:  # without ...IfExists a missing key fails the condition
        return False
    actual = context[key]
    values = [str(v) for v in _as_list(wanted)]
    if operator in ("StringEquals", "ArnEquals"):
        return actual in values
    if operator in ("StringLike", "ArnLike"):
        return any(_glob(v, actual) for v in values)
    if operator == "Bool":
        return actual.lower() in [v.lower() for v in values]
    raise NotImplementedError(f"condition operator {operator} is not evaluated here")


def _statement_applies(
    statement: Mapping[str, Any],
    action: str,
    resource: str | None,
    context: Mapping[str, str],
    principal: tuple[str, str] | None,
) -> bool:
    unknown = set(statement) - {
        "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition",
        "Principal",
    }  # fmt: skip
    if unknown:
        raise NotImplementedError(f"statement elements {sorted(unknown)}")
    if "Action" in statement:
        if not any(_glob(a, action, case=False) for a in _as_list(statement["Action"])):
            return False
    elif any(_glob(a, action, case=False) for a in _as_list(statement["NotAction"])):
        return False
    if resource is not None:
        if "Resource" in statement:
            if not any(_glob(r, resource) for r in _as_list(statement["Resource"])):
                return False
        elif any(_glob(r, resource) for r in _as_list(statement.get("NotResource", []))):
            return False
    if principal is not None:
        kind, name = principal
        listed = statement.get("Principal", {})
        names = _as_list(listed.get(kind, [])) if isinstance(listed, dict) else [listed]
        if not any(_glob(n, name) for n in names):
            return False
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, wanted in pairs.items():
            if not _condition_holds(operator, key, wanted, context):
                return False
    return True


def allowed(
    policies: Sequence[Mapping[str, Any]],
    action: str,
    resource: str | None = None,
    context: Mapping[str, str] | None = None,
    principal: tuple[str, str] | None = None,
) -> bool:
    """Whether the policies (identity policies, or a trust policy with ``principal``) allow
    ``action`` on ``resource`` with the request ``context`` (condition keys → values)."""
    context = context or {}
    decision = False
    for policy in policies:
        for statement in _as_list(policy["Statement"]):
            if not _statement_applies(statement, action, resource, context, principal):
                continue
            if statement["Effect"] == "Deny":
                return False
            if statement["Effect"] != "Allow":
                raise ValueError(f"Effect {statement['Effect']!r}")
            decision = True
    return decision
