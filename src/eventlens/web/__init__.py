"""The web dashboard (extra ``web``: FastAPI, uvicorn, Jinja2, prometheus-client)."""

from eventlens.web.app import create_app

__all__ = ["create_app"]
