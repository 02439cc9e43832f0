"""Scheduling models: infusion sessions and series (see the scheduling issue)."""
