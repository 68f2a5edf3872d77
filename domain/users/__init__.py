"""Users and access: staff, customer users, auditors; passwords and API tokens."""
