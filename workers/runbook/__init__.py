"""Runbooks: YAML files validated at load time, run step by step into a report."""
