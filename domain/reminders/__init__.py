"""Reminders (预约提示, seed 003): a note on a request, for someone, at a time."""
