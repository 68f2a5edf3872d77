"""The portal's "My account" (seed 000): the organisation's orders, shipments,
invoices, payments and returns as the ERP sent them (`ledgerdesk erp import`).

Read-only pages over the account view (projections.account): an overview with
counts, a sortable, searchable, paged list per kind, and a detail page per
document.  The customer code always comes from the signed-in principal, never
from the URL, so another organisation's number is a 404 exactly like an
unknown one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from channels.web.labels import N_
from channels.web.pages import formatter_of, page, render, web_of
from channels.web.sessions import SessionUser
from domain.account.documents import STATUSES
from domain.errors import NotFound
from projections import account

# The URL's plural, the domain's kind.
KINDS = {"orders": "order", "shipments": "shipment", "invoices": "invoice",
         "payments": "payment", "returns": "return"}
PLURAL = {kind: plural for plural, kind in KINDS.items()}
# A document's day as the pages write moments (channels.web.i18n): 2026年11月23日 / 23 Nov 2026.
DAY_PATTERNS = {"zh-CN": "yyyy年M月d日", "en": "d MMM yyyy"}

# Msgids of the account's words, for `fmt.gettext("account_status:" ~ status)`.
LABELS = (
    N_("account_kind:order"), N_("account_kind:shipment"), N_("account_kind:invoice"),
    N_("account_kind:payment"), N_("account_kind:return"),
    N_("account_status:open"), N_("account_status:confirmed"), N_("account_status:shipped"),
    N_("account_status:completed"), N_("account_status:cancelled"),
    N_("account_status:preparing"), N_("account_status:in_transit"),
    N_("account_status:delivered"), N_("account_status:returned"),
    N_("account_status:partially_paid"), N_("account_status:paid"),
    N_("account_status:overdue"), N_("account_status:pending"), N_("account_status:received"),
    N_("account_status:failed"), N_("account_status:refunded"),
    N_("account_status:requested"), N_("account_status:approved"),
    N_("account_status:rejected"), N_("account_status:closed"),
)
assert {f"account_status:{s}" for v in STATUSES.values() for s in v} <= set(LABELS)


def account_routes() -> list[BaseRoute]:
    return [
        page("/portal/account", overview, "use_portal"),
        page("/portal/account/{kind}", document_list, "use_portal"),
        # `path`: ERP numbers may hold a slash (2026/0042); links quote them.
        page("/portal/account/{kind}/{number:path}", document_page, "use_portal"),
    ]


def _kind(request: Request) -> str:
    kind = KINDS.get(request.path_params["kind"])
    if kind is None:
        raise NotFound("no such page")
    return kind


def _helpers(request: Request) -> dict[str, Any]:
    """Money and days in the reader's locale; the view keeps them as text."""
    fmt = formatter_of(request)
    locale = fmt.locale

    def money(amount: str | None, currency: str | None) -> str:
        if not amount:
            return "—"
        try:
            value = Decimal(amount)
        except InvalidOperation:  # "[erased]" never happens here, but nothing may break a page
            return amount
        if currency:
            return format_currency(value, currency, locale=locale)
        return format_decimal(value, locale=locale)

    def day(value: str | None) -> str:
        if not value:
            return "—"
        try:
            return format_date(date.fromisoformat(value), DAY_PATTERNS.get(fmt.language, "medium"),
                               locale=locale)
        except ValueError:
            return value

    return {"money": money, "day": day, "plural": PLURAL}


async def overview(request: Request, user: SessionUser) -> Response:
    counts = await run_in_threadpool(account.counts, web_of(request).models["account"],
                                     user.principal.customer_code or "")
    return render(request, "portal/account.html", tab="account", counts=counts,
                  **_helpers(request))


async def document_list(request: Request, user: SessionUser) -> Response:
    kind = _kind(request)
    query = request.query_params
    sort = query.get("sort", "")
    params: dict[str, str] = {"q": query.get("q", "").strip()[:200],
                              "sort": sort if sort in account.SORTS else "date",
                              "dir": "asc" if query.get("dir") == "asc" else "desc"}
    number = query.get("page", "1")
    found = await run_in_threadpool(
        account.documents, web_of(request).models["account"],
        user.principal.customer_code or "", kind, params["q"], params["sort"],
        params["dir"] == "desc", int(number) if number.isdigit() and len(number) < 7 else 1)
    return render(request, "portal/account_list.html", tab="account", kind=kind,
                  found=found, params=params, **_helpers(request))


async def document_page(request: Request, user: SessionUser) -> Response:
    kind = _kind(request)
    number = request.path_params["number"][:64]
    storage = web_of(request).models["account"]
    code = user.principal.customer_code or ""
    found = await run_in_threadpool(account.document, storage, code, kind, number)
    if found is None:
        raise NotFound("no such document")
    related = await run_in_threadpool(account.related, storage, code, kind, number)
    return render(request, "portal/account_document.html", tab="account", kind=kind,
                  doc=found, related=related, **_helpers(request))
