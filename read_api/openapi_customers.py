"""OpenAPI paths of customer upkeep (channels.web.api_customers), merged into
read_api.openapi.OPENAPI."""

from __future__ import annotations

from typing import Any

from domain.ids import NUMBER_KINDS
from domain.vocabulary import CUSTOMER_CLASSIFICATIONS, CUSTOMER_KINDS, IDENTITY_KINDS
from read_api.openapi import (
    CODE,
    CUSTOMER_360,
    EMAIL,
    LINE,
    LINE_PATTERN,
    NUMBER,
    QUERY_ERRORS,
    TEXT,
    _body,
    _command,
    _enum,
    _list,
    _nullable,
    _object,
    _op,
    _string,
)

_NUMBERS = ("Phone and fax numbers are kept in E.164 (`010-66550101` and `+86 10 6655 0101` "
            "are `+861066550101`; numbers without a country code are read as Chinese); one "
            "the phonenumbers library cannot read is a 400 naming the field.")

# The value's shape follows its kind: the fields once, each kind's value in a branch.
IDENTITY = {
    **_body(("kind", "value"), kind=_enum(IDENTITY_KINDS), value={"type": "string"}),
    "oneOf": [
        {"properties": {"kind": _enum(("email",)), "value": EMAIL}},
        {"properties": {"kind": _enum(NUMBER_KINDS), "value": NUMBER}},
        {"properties": {"kind": _enum(("telegram",)), "value": LINE}},
    ],
}
assert {"email", "telegram", *NUMBER_KINDS} == set(IDENTITY_KINDS)

CUSTOMER_PATHS: dict[str, Any] = {
    "/customers/{code}/360": {"get": _op(
        "Customer 360: profile, contacts, identities, products, requests, interactions",
        CUSTOMER_360, errors=("404", *QUERY_ERRORS), path={"code": CODE},
    )},
    "/customers": {"post": _command(
        "Register a customer", _body(
            ("code", "name"), code=CODE, name=LINE, kind=_enum(CUSTOMER_KINDS),
            classification=_enum(CUSTOMER_CLASSIFICATIONS),
            emails=_nullable(_list(EMAIL)), phones=_nullable(_list(NUMBER)),
            fax_numbers=_nullable(_list(NUMBER)), telegram_ids=_nullable(_list(LINE))),
        _object(("id", "code"), id={"type": "string", "format": "uuid"},
                code={"type": "string"}), status="201",
    )},
    "/customers/{code}/erase": {"post": _command(
        "Erase a customer's personal data (admin): the customer's key is destroyed, so "
        "every personal field of their history reads [erased]; the events, their order, "
        "actors and times, and the audit chain stay. The reason stays readable: name the "
        "request, not the person. 409 when erased already.",
        _body(("reason",), reason=_string(LINE_PATTERN, maxLength=500)),
        _object(("code", "codes", "identities_released", "users_deactivated"),
                code={"type": "string"}, codes=_list({"type": "string"}),
                identities_released={"type": "integer"},
                users_deactivated={"type": "integer"}),
        path={"code": CODE},
    )},
    "/customers/{code}/profile": {"post": _command(
        "Change a customer's profile: only the fields given change (404 for an unknown "
        "customer, 422 once merged into another)",
        _body((), name=LINE, kind=_enum(CUSTOMER_KINDS),
              classification=_enum(CUSTOMER_CLASSIFICATIONS), region=TEXT, address=TEXT),
        _object(("code",), code={"type": "string"}), path={"code": CODE},
    )},
    "/customers/{code}/contacts": {"post": _command(
        "Add a contact person. " + _NUMBERS,
        _body(("name",), name=LINE, department=TEXT, phone=_nullable(NUMBER),
              email=_nullable(EMAIL)),
        _object(("contact_id",), contact_id={"type": "string"}), status="201",
        path={"code": CODE},
    )},
    "/customers/{code}/contacts/remove": {"post": _command(
        "Remove a contact person (404 when the customer has no such contact)",
        _body(("contact_id",), contact_id=_string(LINE_PATTERN)), path={"code": CODE},
    )},
    "/customers/{code}/identities": {"post": _command(
        "Link a channel identity (email address, phone or fax number, Telegram id) so "
        "messages from it reach this customer; 409 when another customer holds it. " + _NUMBERS,
        IDENTITY,
        _object(("kind", "value"), kind=_enum(IDENTITY_KINDS), value={"type": "string"}),
        status="201", path={"code": CODE},
    )},
    "/customers/{code}/identities/remove": {"post": _command(
        "Unlink a channel identity (404 when the customer does not have it)", IDENTITY,
        path={"code": CODE},
    )},
    "/customers/{code}/representative": {"post": _command(
        "Assign the customer's dedicated representative (一对一服务), an active member of "
        "staff, who then receives the customer's new requests first; null clears it",
        _body(("representative",), representative=_nullable(EMAIL)),
        _object(("representative",), representative={"type": ["string", "null"]}),
        path={"code": CODE},
    )},
    "/customers/{code}/merge": {"post": _command(
        "Merge this provisional customer (made for an unknown sender) into a registered "
        "one: identities and requests move over (422 when this customer is not "
        "provisional or the target is)",
        _body(("into",), into=CODE), _object(("code",), code={"type": "string"}),
        path={"code": CODE},
    )},
}
