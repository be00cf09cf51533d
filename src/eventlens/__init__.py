"""eventlens: event-driven image analysis, embedded (folder + SQLite) or on AWS (S3 + DynamoDB)."""

__version__ = "0.1.0"
