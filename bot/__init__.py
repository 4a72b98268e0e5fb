"""The Slack side of clusterdoc: Bolt app, /k8s parsing, webhooks, rendering and the CLI.

``bot`` never talks to Kubernetes itself; it enqueues jobs that ``workers`` run.
"""
