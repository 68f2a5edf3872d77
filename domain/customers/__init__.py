"""Customers: who they are, the identities they write from, contacts, merges."""
