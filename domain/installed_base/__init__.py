"""Installed base: a customer's equipment by serial number, its details, status and owner."""
