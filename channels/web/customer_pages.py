"""The console's customers: a searchable list, the customer 360, and its upkeep
(profile, contacts, identities, the dedicated representative, merging a
provisional customer into a real one, and, for admins, erasure).

Every form builds the same command the JSON API would; a refusal re-renders
the page with the message beside the form and what was typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from channels.web.forms import form_text
from channels.web.labels import N_
from channels.web.pages import (
    checked_form,
    domain_message,
    flash,
    page,
    render,
    see_other,
    web_of,
)
from channels.web.sessions import SessionUser
from domain.access import PARTNER_CLASSIFICATIONS, PORTAL_MODULES
from domain.customers.commands import (
    AddContact,
    AssignRepresentative,
    EraseCustomer,
    GrantModules,
    LinkIdentity,
    MergeCustomer,
    RemoveContact,
    UnlinkIdentity,
    UpdateCustomer,
)
from domain.errors import DomainError, NotFound, invalid
from domain.installed_base.commands import AddServiceAgreement
from domain.users.handlers import all_users
from domain.vocabulary import (
    CUSTOMER_CLASSIFICATIONS,
    CUSTOMER_KINDS,
    CUSTOMER_ROLES,
    IDENTITY_KINDS,
    STAFF_ROLES,
)
from projections import access_log, console_queries, queries
from projections.customers import granted_modules

Build = Callable[[str, FormData, str], object]
# Statuses of a refused form, by the domain error's code; anything else is 422.
STATUS_BY_CODE = {"invalid": 400, "not_found": 404, "already_exists": 409, "conflict": 409,
                  "gone": 409}


def customer_routes() -> list[BaseRoute]:
    return [
        page("/console/customers", customer_list, "manage_customers"),
        page("/console/customers/{code}", customer_page, "read_queues"),
        *[page(f"/console/customers/{{code}}/{action}", _endpoint(action), permission,
               methods=("POST",)) for action, (_, _, permission) in BUILDERS.items()],
    ]


_field = form_text


def _profile_changes(form: FormData) -> dict[str, Any]:
    changes: dict[str, Any] = {"name": _field(form, "name", 200),
                               "kind": _field(form, "kind", 40),
                               "classification": _field(form, "classification", 40)}
    for extra in ("region", "address"):
        changes[extra] = _field(form, extra, 500)
    return changes


# action: (command from (code, form, actor), what success says, permission)
BUILDERS: dict[str, tuple[Build, str, str]] = {
    "profile": (lambda code, f, actor: UpdateCustomer(code, _profile_changes(f), actor=actor),
                N_("Profile saved."), "manage_customers"),
    "contacts": (lambda code, f, actor: AddContact(
        code, _field(f, "name", 200), actor=actor, department=_field(f, "department", 200),
        phone=_field(f, "phone", 64), email=_field(f, "email", 320)),
        N_("Contact added."), "manage_customers"),
    "contacts/remove": (lambda code, f, actor: RemoveContact(
        code, _field(f, "contact_id", 64), actor=actor),
        N_("Contact removed."), "manage_customers"),
    "identities": (lambda code, f, actor: LinkIdentity(
        code, _field(f, "kind", 20), _field(f, "value", 320), actor=actor),
        N_("Identity linked."), "manage_customers"),
    "identities/remove": (lambda code, f, actor: UnlinkIdentity(
        code, _field(f, "kind", 20), _field(f, "value", 320), actor=actor),
        N_("Identity unlinked."), "manage_customers"),
    "representative": (lambda code, f, actor: AssignRepresentative(
        code, _field(f, "representative", 320) or None, actor=actor),
        N_("Representative assigned."), "manage_customers"),
    "merge": (lambda code, f, actor: MergeCustomer(code, _field(f, "target", 64), actor=actor),
              N_("Customer merged."), "manage_customers"),
    "modules": (lambda code, f, actor: GrantModules(
        code, [m for m in f.getlist("modules") if isinstance(m, str)], actor=actor),
        N_("Portal modules saved."), "manage_partners"),
    "agreements": (lambda code, f, actor: AddServiceAgreement(
        _field(f, "serial", 64), _field(f, "code", 40), _field(f, "starts_on", 10),
        _field(f, "ends_on", 10), actor=actor, level=_field(f, "level", 40) or None),
        N_("Service agreement added."), "manage_products"),
    "erase": (lambda code, f, actor: _erasure(code, f, actor),
              N_("The customer's personal data is erased."), "erase_customers"),
}


def _erasure(code: str, form: FormData, actor: str) -> EraseCustomer:
    if _field(form, "confirm_code", 64) != code:
        raise invalid("confirm_code", "type the customer's code to confirm the erasure")
    return EraseCustomer(code, _field(form, "reason", 500), actor=actor)


async def customer_list(request: Request, user: SessionUser) -> Response:
    text = request.query_params.get("q", "")[:200]
    web = web_of(request)
    rows = await run_in_threadpool(console_queries.customer_list, web.models, text)
    return render(request, "console/customers.html", customers=rows, q=text, nav="customers")


async def _context(request: Request, user: SessionUser, code: str) -> dict[str, Any]:
    web = web_of(request)
    if not queries_possible_code(code):
        raise NotFound(f"no customer {code}")
    found = await run_in_threadpool(queries.customer_360, web.models, user.principal, code)
    await web.accessed(user.principal, access_log.CUSTOMER_360, code, {"page": "customer"})
    staff = [{"email": u.email, "name": u.name}
             for u in await run_in_threadpool(all_users, web.app.store)
             if u.active and any(r in STAFF_ROLES for r in u.roles)]
    return {"c": found, "staff": staff, "kinds": CUSTOMER_KINDS,
            "classifications": CUSTOMER_CLASSIFICATIONS, "identity_kinds": IDENTITY_KINDS,
            "nav": "customers", "portal_module_names": PORTAL_MODULES,
            "partner_classifications": PARTNER_CLASSIFICATIONS, "customer_roles": CUSTOMER_ROLES,
            "granted": await run_in_threadpool(granted_modules, web.models["customers"], code)}


def queries_possible_code(code: str) -> bool:
    stripped = code.strip()
    return 0 < len(stripped) <= 64 and stripped.isprintable() and " " not in stripped


async def customer_page(request: Request, user: SessionUser) -> Response:
    context = await _context(request, user, request.path_params["code"])
    return render(request, "console/customer.html", **context, kept={}, errors={})


def _endpoint(action: str) -> Callable[[Request, SessionUser], Any]:
    build, done, _ = BUILDERS[action]

    async def endpoint(request: Request, user: SessionUser) -> Response:
        code = request.path_params["code"]
        form = await checked_form(request)
        try:
            await web_of(request).run(build(code, form, user.principal.email))
        except DomainError as e:
            # An unknown customer is a 404 page (from _context); anything else the
            # command refused (an identity it does not have included) is said
            # beside the form, with what was typed kept.
            context = await _context(request, user, code)
            kept = {action: {k: v for k, v in form.items() if isinstance(v, str)
                             and k != "csrf_token"}}
            return render(request, "console/customer.html",
                          status_code=STATUS_BY_CODE.get(e.code, 422),
                          **context, kept=kept, errors={action: domain_message(request, e)})
        await web_of(request).settle()
        flash(request, done)
        target = _field(form, "target", 64) if action == "merge" else code
        return see_other(f"/console/customers/{target}")

    return endpoint
