"""Shared state every process and host sees, when there is no Redis: short-lived slots."""

from __future__ import annotations

from django.db import models


class SharedSlot(models.Model):
    """One key of the shared store (see dashboard.ops.shared): taken by whoever inserts it
    first, or takes it over once it has expired."""

    key = models.CharField(max_length=250, primary_key=True)
    value = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key} until {self.expires_at:%H:%M:%S}"
