"""Placeholder: the audit pages are being written."""

from __future__ import annotations

from starlette.routing import BaseRoute


def audit_routes() -> list[BaseRoute]:
    return []
