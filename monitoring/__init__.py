"""What happens: vital readings, alerts, the rules engine and questionnaires."""
