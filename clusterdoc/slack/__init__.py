"""Slack Web API clients and posting, shared by ``serve`` (roots, alerts) and ``worker`` (findings)."""
