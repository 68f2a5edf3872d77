"""The write side: every command Ledgerdesk accepts, as methods of one Application.

A command loads the aggregates it needs, asks them to change (they validate and
raise a DomainError if they must refuse), and saves every new event of that
command in one atomic write.  Uniqueness (customer codes, user emails, channel
identities, inbound message ids) is enforced by that same write: see domain.ids.
A write that loses an optimistic-concurrency race is retried on fresh state a
few times, then refused with ConcurrentChange.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, PersistenceError

from domain import ids
from domain.aggregates.customer import Customer
from domain.aggregates.identity import ChannelIdentity
from domain.aggregates.installed_product import checked_serial
from domain.aggregates.receipt import InboundReceipt
from domain.aggregates.sequence import ReferenceSequence
from domain.aggregates.service_request import Attachment, ServiceRequest
from domain.aggregates.user import User
from domain.errors import (
    AlreadyExists,
    ConcurrentChange,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    invalid,
)
from domain.installed_base import InstalledBaseCommands
from domain.knowledge import KnowledgeCommands
from domain.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    hash_token,
    new_token,
    parse_token,
    verify_password,
)
from domain.vocabulary import (
    CALL_DIRECTIONS,
    CHANNELS,
    CUSTOMER_CLASSIFICATIONS,
    CUSTOMER_KINDS,
    CUSTOMER_ROLES,
    IDENTITY_KINDS,
    PRIORITIES,
    REQUEST_TYPES,
    ROLES,
    STAFF_ROLES,
    STATUSES,
    require_one_of,
)

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

# The identity kind a sender on each channel is recognised by.  Web and chat
# senders are signed-in users, so they arrive with their customer code instead.
SENDER_IDENTITY_KIND = {"email": "email", "fax": "fax", "phone": "phone", "telegram": "telegram"}

SYSTEM = "system"


@dataclass(frozen=True)
class InboundMessage:
    """One customer message from any channel, as the channel adapter understood it."""

    channel: str
    external_id: str  # the channel's own id: Message-ID, Telegram update id, fax hash...
    sender: str  # an identity value on that channel (address, number, Telegram id)
    body: str
    subject: str = ""
    sender_name: str = ""
    attachments: tuple[Attachment, ...] = ()
    occurred_at: datetime | None = None
    reference: str | None = None  # the request the channel threaded it to, if any
    customer_code: str | None = None  # set when the sender is a signed-in customer
    request_type: str = "support"
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FaxPage:
    """A received fax after OCR."""

    external_id: str  # sha256 of the fax file
    sender_number: str
    image: Attachment
    ocr_text: str
    confidence: float
    pages: int
    occurred_at: datetime | None = None
    reference: str | None = None


@dataclass(frozen=True)
class Recorded:
    """What recording an inbound interaction did."""

    reference: str
    customer_code: str
    duplicate: bool = False  # seen before: nothing new was written
    new_request: bool = False
    new_customer: bool = False  # a provisional customer was created for the sender


@dataclass
class _Unsaved:
    """Aggregates changed by one command, saved together at the end."""

    aggregates: list[Aggregate] = field(default_factory=list)

    def add(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            if all(a is not aggregate for a in self.aggregates):
                self.aggregates.append(aggregate)


STARTUP_ATTEMPTS = 10


class Ledgerdesk(InstalledBaseCommands, KnowledgeCommands, Application[UUID]):
    name = "ledgerdesk"  # also the application name recorded by projection tracking
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Customer: 200,
        ServiceRequest: 200,
        User: 100,
    }
    reference_block_size = 20
    max_attempts = 5

    def __init__(self, env: dict[str, str] | None = None) -> None:
        # Processes that start together (serve, email poll, a bench's writers) each
        # run the library's CREATE TABLE IF NOT EXISTS; PostgreSQL can refuse the
        # losers of that race in several ways ("tuple concurrently updated", a
        # duplicate type name, "already exists").  By the next try the tables exist
        # and the statement is a no-op.  SQLite may answer "database is locked" at
        # once instead of waiting.  A store that is really down fails every try.
        for attempt in range(STARTUP_ATTEMPTS):
            try:
                super().__init__(env)
                break
            except PersistenceError:
                if attempt == STARTUP_ATTEMPTS - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))
        self._numbers: Iterator[int] = iter(())
        self._numbers_lock = threading.Lock()

    # === customers =========================================================

    def register_customer(
        self,
        code: str,
        name: str,
        actor: str,
        kind: str = "company",
        classification: str = "standard",
        identities: Iterable[tuple[str, str]] = (),
        profile: dict[str, Any] | None = None,
    ) -> UUID:
        code = _require_code(code)
        if not name.strip():
            raise invalid("name", "name must not be empty")
        require_one_of(kind, CUSTOMER_KINDS, "kind")
        require_one_of(classification, CUSTOMER_CLASSIFICATIONS, "classification")
        wanted = [_checked_identity(k, v) for k, v in identities]

        def attempt() -> UUID:
            customer = Customer(
                code=code,
                name=name.strip(),
                kind=kind,
                classification=classification,
                actor=actor,
                provisional=classification == "provisional",
            )
            unsaved = _Unsaved([customer])
            if profile:
                customer.change_profile(profile, actor)
            for identity_kind, value in wanted:
                self._claim_identity(unsaved, customer, identity_kind, value, actor)
            self._save_new(unsaved, f"customer {code} already exists")
            return customer.id

        return self._retrying(attempt)

    def update_customer(self, code: str, changes: dict[str, Any], actor: str) -> None:
        if "kind" in changes:
            require_one_of(changes["kind"], CUSTOMER_KINDS, "kind")
        if "classification" in changes:
            require_one_of(changes["classification"], CUSTOMER_CLASSIFICATIONS, "classification")
        if "name" in changes and not str(changes["name"]).strip():
            raise invalid("name", "name must not be empty")
        self._change(self.customer(code), lambda c: c.change_profile(changes, actor))

    def add_contact(
        self,
        code: str,
        name: str,
        actor: str,
        department: str = "",
        phone: str = "",
        email: str = "",
    ) -> str:
        if not name.strip():
            raise invalid("name", "a contact needs a name")
        contact_id = uuid.uuid4().hex[:12]
        details = {"name": name.strip(), "department": department, "phone": phone, "email": email}
        self._change(self.customer(code), lambda c: c.add_contact(contact_id, details, actor))
        return contact_id

    def remove_contact(self, code: str, contact_id: str, actor: str) -> None:
        self._change(self.customer(code), lambda c: c.remove_contact(contact_id, actor))

    def link_identity(self, code: str, kind: str, value: str, actor: str) -> None:
        kind, value = _checked_identity(kind, value)

        def attempt() -> None:
            customer = self.customer(code)
            unsaved = _Unsaved()
            self._claim_identity(unsaved, customer, kind, value, actor)
            self._save(unsaved)

        self._retrying(attempt)

    def unlink_identity(self, code: str, kind: str, value: str, actor: str) -> None:
        kind, value = _checked_identity(kind, value)

        def attempt() -> None:
            customer = self.customer(code)
            customer.unlink_identity(kind, value, actor)
            identity = self._get(ChannelIdentity, ids.identity_id(kind, value))
            unsaved = _Unsaved([customer])
            if identity is not None and identity.customer_code == code:
                identity.release(actor=actor)
                unsaved.add(identity)
            self._save(unsaved)

        self._retrying(attempt)

    def assign_representative(self, code: str, user_email: str | None, actor: str) -> None:
        """一对一服务: the member of staff who looks after this customer."""
        if user_email is not None:
            user = self.user(user_email)
            if not any(role in STAFF_ROLES for role in user.roles):
                raise invalid("representative", f"{user_email} is not a member of staff")
            user_email = user.email
        self._change(self.customer(code), lambda c: c.assign_representative(user_email, actor))

    def set_preferences(self, code: str, preferences: dict[str, Any], actor: str) -> None:
        self._change(self.customer(code), lambda c: c.set_preferences(preferences, actor))

    def merge_customer(self, source_code: str, target_code: str, actor: str) -> None:
        """Fold a (usually provisional) customer into a real one: its identities
        and requests move over; both streams record the merge."""

        def attempt() -> None:
            source = self.customer(source_code)
            target = self.customer(target_code)
            references = list(source.requests)
            identities = [tuple(i.split(":", 1)) for i in source.identities]
            source.merge_into(target_code, actor)
            target.absorb(source_code=source_code, references=references, actor=actor)
            unsaved = _Unsaved([source, target])
            for kind, value in identities:
                identity = self._get(ChannelIdentity, ids.identity_id(kind, value))
                if identity is not None and identity.customer_code == source_code:
                    identity.release(actor=actor)
                    identity.claim(target_code, actor)
                    unsaved.add(identity)
                target.link_identity(kind, value, actor)
            for reference in references:
                request = self.service_request(reference)
                request.change_customer(from_code=source_code, to_code=target_code, actor=actor)
                unsaved.add(request)
            self._save(unsaved)

        self._retrying(attempt)

    def customer(self, code: str) -> Customer:
        customer = self._get(Customer, ids.customer_id(code))
        if customer is None:
            raise NotFound(f"no customer {code!r}")
        return customer

    def customer_by_identity(self, kind: str, value: str) -> Customer | None:
        identity = self._get(ChannelIdentity, ids.identity_id(kind, value))
        if identity is None or identity.customer_code is None:
            return None
        return self.customer(identity.customer_code)

    # === service requests ==================================================

    def open_request(
        self,
        customer_code: str,
        request_type: str,
        subject: str,
        actor: str,
        description: str = "",
        channel: str = "web",
        priority: str = "normal",
        product: str | None = None,
    ) -> str:
        require_one_of(request_type, REQUEST_TYPES, "type")
        require_one_of(channel, CHANNELS, "channel")
        require_one_of(priority, PRIORITIES, "priority")
        if not subject.strip():
            raise invalid("subject", "subject must not be empty")

        product = (product or "").strip() or None
        if product:
            # A registered unit must be this customer's; an unregistered name or
            # serial is kept as written (hotline callers often do not know it).
            unit = self._find_product(product) if _looks_like_serial(product) else None
            if unit is not None and unit.customer_code != customer_code:
                raise invalid("product", f"{product} is registered to another customer")

        def attempt() -> str:
            customer = self.customer(customer_code)
            customer.require_active()
            request = self._new_request(
                customer, request_type, channel, subject.strip(), description, actor,
                priority=priority, product=product,
            )
            self._save(_Unsaved([request, customer]))
            return request.reference

        return self._retrying(attempt)

    def record_inbound(self, message: InboundMessage, actor: str | None = None) -> Recorded:
        """Record one customer message.  Idempotent by (channel, external id)."""
        require_one_of(message.channel, CHANNELS, "channel")
        require_one_of(message.request_type, REQUEST_TYPES, "type")
        occurred_at = message.occurred_at or _now()
        who = actor or f"{message.channel}:{message.sender}"

        def apply(request: ServiceRequest) -> None:
            request.receive_message(
                channel=message.channel,
                external_id=message.external_id,
                sender=message.sender,
                subject=message.subject,
                body=message.body,
                attachments=list(message.attachments),
                occurred_at=occurred_at,
                actor=who,
                details=dict(message.details, sender_name=message.sender_name),
            )

        return self._record_interaction(
            message, apply, who, kind="message", direction="inbound", occurred_at=occurred_at,
            subject=message.subject or _first_line(message.body),
        )

    def record_fax(self, fax: FaxPage, actor: str | None = None) -> Recorded:
        """Record a received fax and its OCR text.  Idempotent by the file's hash."""
        occurred_at = fax.occurred_at or _now()
        who = actor or f"fax:{fax.sender_number or 'unknown'}"
        message = InboundMessage(
            channel="fax", external_id=fax.external_id, sender=fax.sender_number or "unknown",
            body=fax.ocr_text, reference=fax.reference,
        )

        def apply(request: ServiceRequest) -> None:
            request.receive_fax(
                external_id=fax.external_id, sender_number=fax.sender_number, image=fax.image,
                ocr_text=fax.ocr_text, confidence=fax.confidence, pages=fax.pages,
                occurred_at=occurred_at, actor=who,
            )

        return self._record_interaction(
            message, apply, who, kind="fax", direction="inbound", occurred_at=occurred_at,
            subject=_first_line(fax.ocr_text) or "Fax",
        )

    def log_call(
        self,
        call_id: str,
        direction: str,
        number: str,
        started_at: datetime,
        actor: str,
        agent: str | None = None,
        ended_at: datetime | None = None,
        notes: str = "",
        reference: str | None = None,
        customer_code: str | None = None,
    ) -> Recorded:
        """A phone call, from the CTI webhook or logged by an agent.  Idempotent by call id."""
        require_one_of(direction, CALL_DIRECTIONS, "direction")
        if not number.strip():
            raise invalid("number", "number must not be empty")
        if ended_at is not None and ended_at < started_at:
            raise invalid("ended_at", "a call cannot end before it starts")
        message = InboundMessage(
            channel="phone", external_id=call_id, sender=number, body=notes,
            reference=reference, customer_code=customer_code,
        )

        def apply(request: ServiceRequest) -> None:
            request.log_call(
                call_id=call_id, direction=direction, number=number, agent=agent,
                started_at=started_at, ended_at=ended_at, notes=notes, actor=actor,
            )

        preposition = "from" if direction == "inbound" else "to"
        return self._record_interaction(
            message, apply, actor, kind="call", direction=direction, occurred_at=started_at,
            subject=_first_line(notes) or f"Call {preposition} {number}",
        )

    def queue_reply(
        self,
        reference: str,
        body: str,
        actor: str,
        attachments: Iterable[Attachment] = (),
        expected_version: int | None = None,
    ) -> str:
        """An agent's answer; the outbox sender delivers it on the request's channel."""
        reply_id = uuid.uuid4().hex

        def change(request: ServiceRequest) -> list[Aggregate]:
            request.queue_reply(reply_id, body, list(attachments), None, actor)
            customer = self.customer(request.customer_code)
            customer.record_contact(
                channel=request.channel, direction="outbound", kind="reply",
                reference=reference, summary=_summary("", body), occurred_at=_now(), actor=actor,
            )
            return [customer]

        self._change_request(reference, change, expected_version)
        return reply_id

    def mark_reply_delivered(
        self, reference: str, reply_id: str, external_id: str, actor: str = SYSTEM
    ) -> None:
        self._change_request(
            reference, lambda r: r.mark_delivered(reply_id, external_id, actor)
        )

    def mark_reply_failed(
        self, reference: str, reply_id: str, error: str, attempt: int, final: bool,
        actor: str = SYSTEM,
    ) -> None:
        self._change_request(
            reference, lambda r: r.mark_delivery_failed(reply_id, error, attempt, final, actor)
        )

    def add_note(
        self, reference: str, body: str, actor: str, attachments: Iterable[Attachment] = ()
    ) -> None:
        self._change_request(reference, lambda r: r.add_note(body, list(attachments), actor))

    def assign(
        self, reference: str, assignee: str, actor: str, reason: str = "",
        expected_version: int | None = None,
    ) -> None:
        """Assign, or transfer (业务移交) when someone already has it."""
        staff = self.user(assignee)
        if not any(role in STAFF_ROLES for role in staff.roles):
            raise invalid("agent", f"{assignee} is not an agent or engineer")
        self._change_request(
            reference, lambda r: r.assign(staff.email, actor, reason), expected_version
        )

    def change_status(
        self, reference: str, status: str, actor: str, reason: str = "",
        expected_version: int | None = None,
    ) -> None:
        require_one_of(status, STATUSES, "status")
        if status == "new":
            raise invalid("status", "a request cannot go back to new")
        self._change_request(
            reference, lambda r: r.change_status(status, actor, reason), expected_version
        )

    def escalate(
        self, reference: str, reason: str, actor: str, level: int | None = None,
        due_at: datetime | None = None,
    ) -> None:
        if not reason.strip():
            raise invalid("reason", "say why the request is escalated")
        self._change_request(reference, lambda r: r.escalate(reason, actor, level, due_at))

    def change_priority(self, reference: str, priority: str, actor: str) -> None:
        require_one_of(priority, PRIORITIES, "priority")
        self._change_request(reference, lambda r: r.change_priority(priority, actor))

    def rate_satisfaction(self, reference: str, score: int, comment: str, actor: str) -> None:
        self._change_request(reference, lambda r: r.rate_satisfaction(score, comment, actor))

    def service_request(self, reference: str) -> ServiceRequest:
        if not ids.REFERENCE_PATTERN.match(reference or ""):
            raise NotFound(f"no service request {reference!r}")
        request = self._get(ServiceRequest, ids.request_id(reference))
        if request is None:
            raise NotFound(f"no service request {reference!r}")
        return request

    # === users =============================================================

    def add_user(
        self,
        email: str,
        roles: Iterable[str],
        actor: str,
        name: str = "",
        customer_code: str | None = None,
        password: str | None = None,
    ) -> UUID:
        email = ids.normalise_email(email)
        if "@" not in email or email.startswith("@") or email.endswith("@"):
            raise invalid("email", f"{email!r} is not an email address")
        roles = list(dict.fromkeys(roles))
        if not roles:
            raise invalid("role", "a user needs at least one role")
        for role in roles:
            require_one_of(role, ROLES, "role")
        if any(role in CUSTOMER_ROLES for role in roles):
            if not customer_code:
                raise invalid("customer", "customer users need --customer CODE")
            self.customer(customer_code)
        elif customer_code:
            self.customer(customer_code)
        password_hash = _checked_password_hash(password) if password is not None else None
        user = User(
            email=email, name=name or email.split("@")[0], roles=roles,
            customer_code=customer_code, actor=actor,
        )
        if password_hash:
            user.set_password_hash(password_hash=password_hash, actor=actor)
        self._save_new(_Unsaved([user]), f"a user with email {email} already exists")
        return user.id

    def grant_role(self, email: str, role: str, actor: str) -> None:
        require_one_of(role, ROLES, "role")
        self._change(self.user(email), lambda u: u.grant_role(role, actor))

    def revoke_role(self, email: str, role: str, actor: str) -> None:
        self._change(self.user(email), lambda u: u.revoke_role(role, actor))

    def set_password(self, email: str, password: str, actor: str) -> None:
        password_hash = _checked_password_hash(password)
        self._change(self.user(email), lambda u: u.set_password_hash(password_hash, actor))

    def issue_token(self, email: str, actor: str, label: str = "") -> str:
        """Returns the new token.  Only its hash is stored: it cannot be shown again."""
        user = self.user(email)
        token, token_id = new_token(user.id.hex)
        self._change(user, lambda u: u.issue_token(token_id, hash_token(token), label, actor))
        return token

    def revoke_token(self, email: str, token_id: str, actor: str) -> None:
        self._change(self.user(email), lambda u: u.revoke_token(token_id, actor))

    def deactivate_user(self, email: str, actor: str) -> None:
        self._change(self.user(email), lambda u: u.deactivate(actor))

    def user(self, email: str) -> User:
        user = self._get(User, ids.user_id(email))
        if user is None:
            raise NotFound(f"no user {email!r}")
        return user

    def authenticate_token(self, token: str) -> User:
        parsed = parse_token(token)
        if parsed is None:
            raise PermissionDenied("not a Ledgerdesk API token")
        user_hex, token_id = parsed
        try:
            user = self._get(User, UUID(hex=user_hex))
        except ValueError:
            user = None
        if user is None or not user.active or user.tokens.get(token_id) != hash_token(token):
            raise PermissionDenied("unknown or revoked token")
        return user

    def authenticate_password(self, email: str, password: str) -> User:
        user = self._get(User, ids.user_id(email))
        if user is None or not user.active or not user.password_hash:
            raise PermissionDenied("wrong email or password")
        if not verify_password(user.password_hash, password):
            raise PermissionDenied("wrong email or password")
        return user

    # === helpers ===========================================================

    def _get(self, cls: type[A], aggregate_id: UUID) -> A | None:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, cls):
            return None
        return aggregate

    def _receipt(self, channel: str, external_id: str) -> Recorded | None:
        receipt = self._get(InboundReceipt, ids.receipt_id(channel, external_id))
        if receipt is None:
            return None
        return Recorded(receipt.reference, receipt.customer_code, duplicate=True)

    def _record_interaction(
        self,
        message: InboundMessage,
        apply: Callable[[ServiceRequest], None],
        actor: str,
        *,
        kind: str,
        direction: str,
        occurred_at: datetime,
        subject: str,
    ) -> Recorded:
        """The shared shape of every interaction: find the sender and the request
        (creating what is missing), apply the interaction, record the contact on
        the customer, and save it all with the receipt that makes it idempotent."""
        if not message.external_id:
            raise invalid("external_id", f"a {kind} needs its channel's id")

        def attempt() -> Recorded:
            unsaved = _Unsaved()
            threaded = self._threaded(message.reference)
            customer, new_customer = self._sender(unsaved, message, actor, threaded)
            if threaded is not None and threaded.status != "closed":
                request, new_request = threaded, False
                if request.status == "resolved":
                    request.reopen(reason="the customer wrote again", actor=actor)
            else:
                # A message about a closed request starts a new one that points back.
                request, new_request = self._new_request(
                    customer, message.request_type, message.channel, subject or "(no subject)",
                    message.body, actor, follow_up_of=message.reference,
                ), True
            apply(request)
            customer.record_contact(
                channel=message.channel, direction=direction, kind=kind,
                reference=request.reference, summary=_summary(message.subject, message.body),
                occurred_at=occurred_at, actor=actor,
            )
            receipt = InboundReceipt(
                channel=message.channel, external_id=message.external_id,
                reference=request.reference, customer_code=customer.code, actor=actor,
            )
            unsaved.add(request, customer, receipt)
            try:
                self._save(unsaved)
            except IntegrityError:
                # Either another worker recorded this very message (then say so), or
                # a stream we touched moved on (then _retrying tries again).  The
                # receipt is not looked up beforehand: duplicates are rare, and the
                # atomic save is what guarantees "once" anyway.
                seen = self._receipt(message.channel, message.external_id)
                if seen is not None:
                    return seen
                raise
            return Recorded(
                request.reference, customer.code, new_request=new_request,
                new_customer=new_customer,
            )

        return self._retrying(attempt)

    def _threaded(self, reference: str | None) -> ServiceRequest | None:
        return self.service_request(reference) if reference else None

    def _sender(
        self,
        unsaved: _Unsaved,
        message: InboundMessage,
        actor: str,
        threaded: ServiceRequest | None,
    ) -> tuple[Customer, bool]:
        """The customer a message comes from, creating a provisional one for a stranger."""
        if message.customer_code:
            customer = self.customer(message.customer_code)
        else:
            kind = SENDER_IDENTITY_KIND.get(message.channel)
            if kind is None:
                raise invalid("customer_code", f"{message.channel} messages need a customer")
            kind, value = _checked_identity(kind, message.sender)
            found = None
            if threaded is not None:
                # The usual case, a reply on a thread: the request's own customer
                # knows the sender, and the identity index need not be read.
                owner = self.customer(threaded.customer_code)
                found = owner if owner.has_identity(kind, value) else None
            found = found or self.customer_by_identity(kind, value)
            if found is None:
                return self._provisional_customer(unsaved, kind, value, message, actor), True
            customer = found
        if customer.merged_into:
            customer = self.customer(customer.merged_into)
        unsaved.add(customer)
        return customer, False

    def _provisional_customer(
        self, unsaved: _Unsaved, kind: str, value: str, message: InboundMessage, actor: str
    ) -> Customer:
        # The code is derived from the identity, so two workers meeting the same
        # stranger at once create one customer: the second save conflicts and retries.
        code = "P-" + ids.identity_id(kind, value).hex[:10].upper()
        customer = Customer(
            code=code, name=message.sender_name or value,
            kind="person", classification="provisional", actor=actor, provisional=True,
        )
        unsaved.add(customer)
        self._claim_identity(unsaved, customer, kind, value, actor)
        return customer

    def _new_request(
        self, customer: Customer, request_type: str, channel: str, subject: str,
        description: str, actor: str, priority: str = "normal", product: str | None = None,
        follow_up_of: str | None = None,
    ) -> ServiceRequest:
        reference = ids.format_reference(self._next_number())
        request = ServiceRequest(
            reference=reference, customer_code=customer.code,
            request_type=request_type, channel=channel, subject=subject[:500],
            description=description, priority=priority, product=product, actor=actor,
            follow_up_of=follow_up_of,
        )
        customer.link_request(reference=reference, actor=actor)
        return request

    def _next_number(self) -> int:
        with self._numbers_lock:
            number = next(self._numbers, None)
            if number is None:
                self._numbers = self._reserve_block()
                number = next(self._numbers)
            return number

    def _reserve_block(self) -> Iterator[int]:
        sequence_id = ids.sequence_id("service-request")

        def attempt() -> Iterator[int]:
            sequence = self._get(ReferenceSequence, sequence_id)
            if sequence is None:
                sequence = ReferenceSequence(name="service-request")
            start = sequence.next_number
            sequence.reserve(start=start, count=self.reference_block_size)
            self.save(sequence)
            return iter(range(start, start + self.reference_block_size))

        return self._retrying(attempt)

    def _claim_identity(
        self, unsaved: _Unsaved, customer: Customer, kind: str, value: str, actor: str
    ) -> None:
        identity = self._get(ChannelIdentity, ids.identity_id(kind, value))
        if identity is None:
            identity = ChannelIdentity(
                kind=kind, value=value,
                customer_code=customer.code, actor=actor,
            )
        else:
            identity.claim(customer.code, actor)
        customer.link_identity(kind, value, actor)
        unsaved.add(customer, identity)

    def _change(self, aggregate: A, change: Callable[[A], object]) -> None:
        """Apply one change to one aggregate and save it, retrying on a race."""
        first = True

        def attempt() -> None:
            nonlocal first
            target = aggregate if first else self.repository.get(aggregate.id)
            first = False
            change(target)
            self._save(_Unsaved([target]))

        self._retrying(attempt)

    def _change_request(
        self,
        reference: str,
        change: Callable[[ServiceRequest], object],
        expected_version: int | None = None,
    ) -> None:
        def attempt() -> None:
            request = self.service_request(reference)
            if expected_version is not None and request.version != expected_version:
                raise ConcurrentChange(
                    f"{reference} changed since you loaded it (version {expected_version}, "
                    f"now {request.version}); reload and try again"
                )
            others = change(request)
            self._save(_Unsaved([request, *(others if isinstance(others, list) else [])]))

        self._retrying(attempt)

    def _save(self, unsaved: _Unsaved) -> None:
        self.save(*unsaved.aggregates)

    def _save_new(self, unsaved: _Unsaved, exists_message: str) -> None:
        """Save aggregates whose creation must be unique; a conflict on the
        first one means it exists already."""
        first = unsaved.aggregates[0]
        try:
            self._save(unsaved)
        except IntegrityError:
            if self._get(type(first), first.id) is not None:
                raise AlreadyExists(exists_message) from None
            raise

    def _retrying(self, attempt: Callable[[], T]) -> T:
        for _ in range(self.max_attempts - 1):
            try:
                return attempt()
            except IntegrityError:
                continue
        try:
            return attempt()
        except IntegrityError:
            raise ConcurrentChange(
                "someone else changed the same record at the same moment; try again"
            ) from None


def _now() -> datetime:
    return datetime.now(UTC)


def _looks_like_serial(text: str) -> bool:
    try:
        checked_serial(text)
    except InvalidInput:
        return False
    return True


def _require_code(code: str) -> str:
    code = (code or "").strip()
    if not code or len(code) > 64 or any(c.isspace() for c in code):
        raise invalid("code", "a customer code is 1 to 64 characters without spaces")
    return code


def _checked_identity(kind: str, value: str) -> tuple[str, str]:
    require_one_of(kind, IDENTITY_KINDS, "identity kind")
    normalised = ids.normalise_identity(kind, value or "")
    if not normalised or normalised == "+":
        raise invalid(kind, f"{kind} must not be empty")
    if kind == "email" and ("@" not in normalised or " " in normalised):
        raise invalid(kind, f"{value!r} is not an email address")
    return kind, normalised


def _checked_password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise invalid("password", f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return hash_password(password)


def _first_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def _summary(subject: str, body: str) -> str:
    text = " ".join((subject + " " + (body or "")).split())
    return text[:200]


__all__ = [
    "DomainError",
    "FaxPage",
    "InboundMessage",
    "InvalidInput",
    "Ledgerdesk",
    "Recorded",
]
