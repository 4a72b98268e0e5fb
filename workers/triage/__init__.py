"""Pure triage analysis: thresholds and onsets over metric series, etcd quorum, leases, version skew,
and the cross-layer verdict. No I/O, no Slack, RQ or Redis: the steps gather, this package judges.
"""
