"""Streaming domains: the cached callback configs, sync, teams, editing and the audit log."""
