"""OpenAPI paths of the admins' upkeep of teams and accounts, merged into
read_api.openapi's document."""

from __future__ import annotations

from typing import Any

from read_api.openapi import (
    EMAIL,
    LINE,
    LINE_PATTERN,
    NOTHING,
    TEAM_CODE,
    USER,
    _body,
    _command,
    _list,
    _object,
    _op,
    _string,
)

ADMIN_PATHS: dict[str, Any] = {
    "/teams": {"post": _command(
        "Create a team (a function: hotline, coordinators, a department...)",
        _body(("code", "name"), code=TEAM_CODE, name=LINE),
        _object(("code",), code={"type": "string"}), status="201",
    )},
    "/teams/{code}/members": {"post": _command(
        "Add a member of staff to a team", _body(("email",), email=EMAIL),
        path={"code": TEAM_CODE},
    )},
    "/teams/{code}/members/remove": {"post": _command(
        "Remove a member from a team", _body(("email",), email=EMAIL),
        path={"code": TEAM_CODE},
    )},
    "/users": {"get": _op("Every account, with its token ids",
                          _object(("items",), items=_list(USER)))},
    "/users/{email}/deactivate": {"post": _command(
        "Deactivate an account: its tokens are refused at once", NOTHING,
        _object(("email", "active"), email={"type": "string"},
                active={"type": "boolean"}), path={"email": EMAIL},
    )},
    "/users/{email}/tokens/{token_id}/revoke": {"post": _command(
        "Revoke one API token", NOTHING,
        _object(("email", "token_id", "revoked"), email={"type": "string"},
                token_id={"type": "string"}, revoked={"type": "boolean"}),
        path={"email": EMAIL, "token_id": _string(LINE_PATTERN)},
    )},
}
