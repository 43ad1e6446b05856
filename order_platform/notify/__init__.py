"""Telling the team what changed and what failed: Microsoft Teams messages through a Workflows webhook."""
