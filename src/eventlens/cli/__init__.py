"""The ``eventlens`` command line."""
