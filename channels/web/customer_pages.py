"""Placeholder: the customer pages are being written."""

from __future__ import annotations

from starlette.routing import BaseRoute


def customer_routes() -> list[BaseRoute]:
    return []
