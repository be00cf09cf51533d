"""Read the bytes of an object: a local folder or S3."""

from eventlens.storage.base import ObjectInfo, ObjectStore, ObjectTooLarge, ObjectUnavailable

__all__ = ["ObjectInfo", "ObjectStore", "ObjectTooLarge", "ObjectUnavailable"]
