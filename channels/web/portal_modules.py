"""Which of the portal's modules a page belongs to, and the partner's grant
checked on every request (domain.access decides; this maps URLs to modules).

The check sits in `pages.page`, so every portal route of a module, present or
future, is refused (403) to a partner whose organisation lacks the grant,
rather than each handler having to remember.  The grant is read per request
from the customers view (one indexed row), so an admin's change shows on the
next page, in every process; customers and staff skip the read entirely.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from channels.web.labels import N_
from domain import access
from domain.access import Principal
from projections.customers import granted_modules
from projections.registry import ReadModels

# URL prefix -> module; the longest prefix first is not needed: none nests another.
MODULE_PATHS = {
    "/portal/requests": "requests",
    "/portal/products": "products",
    "/portal/kb": "knowledge",
    "/portal/account": "account",
    "/portal/chat": "chat",
}
# Msgids for `fmt.gettext("module:" ~ module)` (the console's grant form).
LABELS = (N_("module:requests"), N_("module:products"), N_("module:knowledge"),
          N_("module:account"), N_("module:chat"))
assert {f"module:{m}" for m in access.PORTAL_MODULES} == set(LABELS)
# Where the scope keeps the modules a page may link to (pages.render reads it).
SCOPE_KEY = "ledgerdesk.portal_modules"


def module_of(path: str) -> str | None:
    for prefix, module in MODULE_PATHS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return module
    return None


async def partner_modules(models: ReadModels, who: Principal) -> tuple[str, ...] | None:
    """The modules a partner may use; None for anyone else (nothing to read)."""
    if not who.is_partner or not who.customer_code:
        return () if who.is_partner else None
    granted = await run_in_threadpool(granted_modules, models["customers"], who.customer_code)
    return access.visible_modules(who, granted)


async def check_portal_module(models: ReadModels, path: str, who: Principal
                              ) -> tuple[str, ...] | None:
    """Refuse (PermissionDenied) a partner's page of a module not granted; the
    modules they may use, for the tabs (None: all)."""
    visible = await partner_modules(models, who)
    if visible is None:
        return None
    module = module_of(path)
    if module is not None:
        access.require_module(who, visible, module)
    return visible
