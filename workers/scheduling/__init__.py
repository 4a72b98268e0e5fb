"""Why-pending analysis: the scheduler's message parsed, and its filters replayed node by node.

``message`` reads a ``FailedScheduling`` message into categories; ``filters`` holds one module
per kube-scheduler filter plugin; ``snapshot`` gathers the cluster state those filters need
(cheaply, page by page); ``analysis`` runs them over every node, groups the nodes by cause,
finds the closest fit and reconciles the result with the scheduler's own message; ``cases``
tells the five kinds of "pending" apart; ``remediate`` proposes fixes.
"""
