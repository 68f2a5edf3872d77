"""The teams context: teams and their members (admins)."""
