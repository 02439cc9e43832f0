"""Monitoring models: vital readings, alerts and questionnaires (see the monitoring issue)."""
