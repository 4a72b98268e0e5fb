"""Bundled cluster snapshots used by ``clusterdoc demo`` and the tests."""
