"""The diagnostic side of clusterdoc: cluster access, runbooks, steps and analysis.

Nothing in this package imports ``bot`` or any ``slack_*`` module; findings reach Slack through
the publishing interface in :mod:`workers.publish`, supplied by the process wiring.
"""
