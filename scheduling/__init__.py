"""When: infusion sessions (booking and lifecycle), series, availability and reminders."""
