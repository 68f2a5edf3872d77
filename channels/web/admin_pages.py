"""Placeholder: the admin pages are being written."""

from __future__ import annotations

from starlette.routing import BaseRoute


def admin_routes() -> list[BaseRoute]:
    return []
