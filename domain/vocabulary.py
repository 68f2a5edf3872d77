"""The fixed words of the domain, as plain strings.

Events store these strings rather than Enum members, so stored events need no
custom transcoding and stay readable in the audit export.
"""

from __future__ import annotations

from typing import Final

from domain.errors import invalid

CHANNELS: Final = ("email", "web", "chat", "telegram", "fax", "phone")

STATUSES: Final = ("new", "open", "pending_customer", "escalated", "resolved", "closed")
OPEN_STATUSES: Final = ("new", "open", "pending_customer", "escalated")

REQUEST_TYPES: Final = (
    "support",  # technical support
    "complaint",  # 投诉
    "return",  # 退换货 / RMA
    "document",  # 资料索取
    "repair",
    "paid_service",  # 有偿服务
    "inquiry",
)

PRIORITIES: Final = ("low", "normal", "high", "urgent")

ROLES: Final = (
    "customer",
    "customer_admin",
    "partner",
    "agent",
    "engineer",
    "manager",
    "admin",
    "auditor",
)
STAFF_ROLES: Final = ("agent", "engineer", "manager", "admin")
CUSTOMER_ROLES: Final = ("customer", "customer_admin", "partner")

CUSTOMER_KINDS: Final = ("company", "person")
CUSTOMER_CLASSIFICATIONS: Final = (
    "standard",
    "key_account",  # 大客户
    "partner",
    "dealer",  # 代理商
    "repair_shop",  # 授权维修机构
    "provisional",  # created for an unknown sender; to be merged into a real customer
)

# Kinds of channel identity a customer can be recognised by.
IDENTITY_KINDS: Final = ("email", "phone", "fax", "telegram")

CALL_DIRECTIONS: Final = ("inbound", "outbound")

# Languages of the web pages (BCP 47 tags, as in <html lang>).
LANGUAGES: Final = ("zh-CN", "en")


def require_one_of(value: str, allowed: tuple[str, ...], field: str) -> str:
    """Return `value` if allowed, else raise an InvalidInput naming the field."""
    if value not in allowed:
        raise invalid(field, f"{field} must be one of {', '.join(allowed)}; got {value!r}")
    return value
