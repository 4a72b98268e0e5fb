"""The worker side of approve-to-execute: deciding on a click and executing the approved action."""
