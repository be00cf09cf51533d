"""Prefix → environment → results table, as the S3 prefix → Lambda → table mapping on AWS."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    environment: str
    table: str


DEFAULT_ROUTES: tuple[Route, ...] = (
    Route("rekognition-input/beta/", "beta", "beta_results"),
    Route("rekognition-input/prod/", "prod", "prod_results"),
)


class Router:
    """Finds the route for a key; the longest matching prefix wins."""

    def __init__(self, routes: Iterable[Route] = DEFAULT_ROUTES) -> None:
        self.routes = tuple(sorted(routes, key=lambda r: len(r.prefix), reverse=True))
        if not self.routes:
            raise ValueError("at least one route (prefix=environment) is required")

    def route_for_key(self, key: str) -> Route | None:
        for route in self.routes:
            if key.startswith(route.prefix):
                return route
        return None

    def route_for_env(self, environment: str) -> Route:
        for route in self.routes:
            if route.environment == environment:
                return route
        known = ", ".join(sorted({r.environment for r in self.routes}))
        raise KeyError(f"unknown environment {environment!r} (configured: {known})")

    @property
    def environments(self) -> list[str]:
        return sorted({r.environment for r in self.routes})


def parse_route(spec: str) -> Route:
    """Parse ``prefix=environment[:table]``; the table defaults to ``<environment>_results``."""
    prefix, sep, rest = spec.partition("=")
    if not sep or not prefix or not rest:
        raise ValueError(f"route {spec!r} must look like 'prefix/=environment[:table]'")
    env, _, table = rest.partition(":")
    if not prefix.endswith("/"):
        prefix += "/"
    return Route(prefix, env, table or f"{env}_results")
