"""Nodes going away under the app: drained for maintenance, or dead (harness.disruption.drain)."""
