"""Where records are kept: SQLite locally, DynamoDB on AWS, behind one small API."""

from eventlens.results.base import ResultStore
from eventlens.results.record import Record, Status

__all__ = ["Record", "ResultStore", "Status"]
