"""eventlens: event-driven image analysis, embedded (folder + SQLite) or on AWS (S3 + DynamoDB)."""

# The version's one place: the package metadata reads it (pyproject: tool.setuptools.dynamic).
__version__ = "0.1.0"
