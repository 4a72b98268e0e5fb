"""The serve side of approve-to-execute: Bolt listeners that acknowledge a click and enqueue it."""
