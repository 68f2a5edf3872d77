"""The audit trail: every stored event, flattened, in a hash chain.

Row n's hash is sha256(hash of row n-1 + canonical bytes of stored event n),
where the canonical bytes are the event's position, stream, version, topic and
its stored state exactly as the event store holds them.  `verify()` recomputes
the chain from the event store itself and compares: an event edited, deleted or
inserted behind the application's back breaks the chain at that position.

Erasure changes no stored byte (domain.sealing), so the chain stays intact; the
readable columns (`actor`, `data`) of the erased customer's events are
re-derived from the events, which then read with placeholders.  The hash is
never touched.  `audit_stream_owners` remembers every customer a stream ever
belonged to (a unit sold on, a request merged), since each event was sealed
with the key of its owner of the day.

What this does not prove on its own: someone able to rewrite the event store
AND rebuild this view could forge a consistent chain.  Keep the head hash that
`ledgerdesk audit verify` prints somewhere outside the database to anchor it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Notification

from domain.aggregates.contact import CustomerContact
from domain.aggregates.customer import Customer
from domain.aggregates.identity import ChannelIdentity
from domain.aggregates.installed_product import InstalledProduct
from domain.aggregates.receipt import InboundReceipt
from domain.aggregates.request_ledger import CustomerRequests
from domain.aggregates.service_request import ServiceRequest
from domain.aggregates.user import User
from domain.errors import invalid
from projections.redaction import marks
from projections.storage import ViewStorage
from projections.view import Db, RowBuffer, View, iso, to_json

GENESIS = "0" * 64
BATCH = 1000


def canonical_bytes(n: Notification) -> bytes:
    head = f"{n.id}\n{n.originator_id}\n{n.originator_version}\n{n.topic}\n"
    state = n.state
    # A row edited by hand may come back as text rather than bytes; hash what is there.
    body = (
        bytes(state) if isinstance(state, bytes | bytearray | memoryview) else str(state).encode()
    )
    return head.encode() + body


def chain(previous_hash: str, n: Notification) -> str:
    return hashlib.sha256(previous_hash.encode() + canonical_bytes(n)).hexdigest()


def event_data(event: Any) -> dict[str, Any]:
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return {k: v for k, v in vars(event).items() if k not in skip}


class AuditView(View):
    name = "audit"
    version = 2  # 2: every owner of every stream, for erasure
    tables = ("audit", "audit_streams", "audit_stream_owners")
    schema = (
        """CREATE TABLE IF NOT EXISTS audit (
            position BIGINT PRIMARY KEY,
            stream TEXT NOT NULL,
            version INTEGER NOT NULL,
            type TEXT NOT NULL,
            actor TEXT,
            at TEXT NOT NULL,
            data TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS audit_stream ON audit (stream, position)",
        # "Everything agent X did on 23 November": by actor, and by time.
        "CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, position)",
        "CREATE INDEX IF NOT EXISTS audit_at ON audit (at, position)",
        """CREATE TABLE IF NOT EXISTS audit_streams (
            stream TEXT PRIMARY KEY,
            customer_code TEXT,
            reference TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS audit_streams_customer ON audit_streams (customer_code)",
        """CREATE TABLE IF NOT EXISTS audit_stream_owners (
            customer_code TEXT NOT NULL,
            stream TEXT NOT NULL,
            PRIMARY KEY (customer_code, stream)
        )""",
    )

    def __init__(self) -> None:
        # Both valid inside one transaction only: it may roll back.
        self._last_hash: str | None = None
        self._rows = RowBuffer(
            "audit", ("position", "stream", "version", "type", "actor", "at", "data", "hash")
        )

    def begin(self, db: Db) -> None:
        row = db.one("SELECT hash FROM audit ORDER BY position DESC LIMIT 1")
        self._last_hash = row["hash"] if row else GENESIS
        self._rows.clear()

    def end(self, db: Db) -> None:
        self._rows.flush(db)

    def apply_notification(self, db: Db, event: Any, notification: Any) -> None:
        if self._last_hash is None:
            raise RuntimeError("AuditView.begin() must open every write transaction")
        self._last_hash = chain(self._last_hash, notification)
        stream = str(notification.originator_id)
        self._rows.add(
            notification.id,
            stream,
            notification.originator_version,
            type(event).__qualname__,
            getattr(event, "actor", None),
            iso(event.timestamp),
            to_json(event_data(event)),
            self._last_hash,
        )
        owner = owner_of(event)
        if owner:
            db.execute("INSERT INTO audit_stream_owners (customer_code, stream) VALUES (?, ?) "
                       "ON CONFLICT (customer_code, stream) DO NOTHING", (owner, stream))
        if isinstance(event, Customer.Erased):
            self._rederive(db, event.codes)
        if isinstance(event, Customer.Registered):
            self._stream(db, stream, customer_code=event.code, reference=None)
        elif isinstance(event, ServiceRequest.Opened):
            self._stream(db, stream, customer_code=event.customer_code, reference=event.reference)
        elif isinstance(event, CustomerContact.Recorded):
            # A contact shows in both the customer's and the request's trail.
            self._stream(db, stream, customer_code=event.customer_code, reference=event.reference)
        elif isinstance(event, CustomerRequests.Started | InstalledProduct.Registered):
            self._stream(db, stream, customer_code=event.customer_code, reference=None)
        elif isinstance(event, ServiceRequest.CustomerChanged | InstalledProduct.OwnerChanged):
            # The stream's whole history now shows under the new owner.
            db.execute(
                "UPDATE audit_streams SET customer_code = ? WHERE stream = ?",
                (event.to_code, stream),
            )

    def _rederive(self, db: Db, codes: list[str]) -> None:
        """The readable columns of an erased customer's events, as a rebuild makes them."""
        positions = [r["position"] for r in db.all(
            f"SELECT a.position FROM audit a JOIN audit_stream_owners o ON o.stream = a.stream "
            f"WHERE o.customer_code IN ({marks(codes)})", codes)]
        for event, notification in self.reread(positions):
            db.execute("UPDATE audit SET actor = ?, data = ? WHERE position = ?",
                       (getattr(event, "actor", None), to_json(event_data(event)),
                        notification.id))

    @staticmethod
    def _stream(db: Db, stream: str, customer_code: str, reference: str | None) -> None:
        db.execute(
            "INSERT INTO audit_streams (stream, customer_code, reference) VALUES (?, ?, ?) "
            "ON CONFLICT (stream) DO NOTHING",
            (stream, customer_code, reference),
        )


def owner_of(event: Any) -> str | None:
    """The customer whose key sealed this event, when the event says so."""
    if isinstance(event, Customer.Registered):
        return str(event.code)
    if isinstance(event, ServiceRequest.CustomerChanged | InstalledProduct.OwnerChanged):
        return str(event.to_code)
    if isinstance(event, ServiceRequest.Opened | CustomerContact.Recorded
                  | CustomerRequests.Started | InstalledProduct.Registered
                  | ChannelIdentity.Claimed | ChannelIdentity.Reclaimed
                  | InboundReceipt.Recorded | User.Created):
        code = getattr(event, "customer_code", None)
        return str(code) if code else None
    return None


@dataclass(frozen=True)
class AuditFilter:
    """Which events an export wants; every part optional.  `since`/`until` are
    the audit rows' own ISO-8601 UTC text (projections.view.iso): `since`
    inclusive, `until` exclusive."""

    customer: str | None = None
    reference: str | None = None
    actor: str | None = None
    since: str | None = None
    until: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.customer:
            clauses.append("a.stream IN (SELECT stream FROM audit_streams WHERE customer_code = ?)")
            params.append(self.customer)
        if self.reference:
            clauses.append("a.stream IN (SELECT stream FROM audit_streams WHERE reference = ?)")
            params.append(self.reference)
        if self.actor:
            clauses.append("a.actor = ?")
            params.append(self.actor)
        if self.since:
            clauses.append("a.at >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("a.at < ?")
            params.append(self.until)
        return " AND ".join(clauses), params


def time_bounds(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """`since`/`until` as given by a person (a date, both inclusive, or an ISO
    date-time with its zone) as the audit rows' UTC text: since inclusive,
    until exclusive.  InvalidInput names the field."""
    low = _moment("since", since, end=False) if since else None
    high = _moment("until", until, end=True) if until else None
    return low, high  # since after until: an empty answer, which is the truth


EARLIEST, LATEST = "0001-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z"


def _moment(name: str, text: str, end: bool) -> str:
    text = text.strip().upper()  # ISO allows a lower-case t and z
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            if end:
                moment += timedelta(days=1)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                raise invalid(name, f"{name} needs a time zone (Z or +08:00): {text[:40]!r}")
            if end:
                moment += timedelta(microseconds=1)
            moment = moment.astimezone(UTC)
    except OverflowError:  # past either end of the calendar
        return LATEST if end else EARLIEST
    except ValueError:
        raise invalid(name, f"{name} is a date (2026-11-23) or a date and time with its zone "
                            f"(2026-11-23T09:00:00+08:00), not {text[:40]!r}") from None
    # Not strftime: its %Y does not pad years before 1000 to four digits.
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}Z")


EXPORT_COLUMNS = ("position", "stream", "version", "type", "actor", "at", "data", "hash")


def audit_events(
    storage: ViewStorage, wanted: AuditFilter, after: int = 0, limit: int = BATCH
) -> list[dict[str, Any]]:
    """Audit rows after position `after`, oldest first, as stored (`data` is JSON text)."""
    where, params = wanted.where()
    return storage.query(
        f"SELECT {', '.join('a.' + c for c in EXPORT_COLUMNS)} FROM audit a "
        f"WHERE a.position > ?{' AND ' + where if where else ''} ORDER BY a.position LIMIT ?",
        (after, *params, limit))


def unknown_subject(storage: ViewStorage, wanted: AuditFilter) -> str | None:
    """Why the export names something nothing was recorded for, or None.  An
    unknown customer or request is a mistake to report, not an empty history;
    an actor who did nothing, or a quiet day, is a true empty answer."""
    for column, value, what in (("customer_code", wanted.customer, "customer"),
                                ("reference", wanted.reference, "request")):
        if value and not storage.query(
                f"SELECT 1 AS found FROM audit_streams WHERE {column} = ? LIMIT 1", (value,)):
            return f"nothing recorded for {what} {value}"
    return None


@dataclass(frozen=True)
class Verification:
    intact: bool
    checked: int
    first_broken: int | None
    head_hash: str
    position: int = 0  # the last position checked, to continue from (verify's `since`)


def verify(recorder: ApplicationRecorder, storage: ViewStorage,
           since: Verification | None = None, after: int = 0) -> Verification:
    """Walk the event store and the audit rows side by side, in batches, so
    memory stays flat however long the log is.  `since` (an intact result of an
    earlier walk that ended at position `after`) continues from there: it
    checks only what came since, and says nothing new about what came before."""
    previous = since.head_hash if since is not None else GENESIS
    checked = since.checked if since is not None else 0
    last = after
    audited = _audit_rows(storage, after)
    for n in _notifications(recorder, after):
        row = next(audited, None)
        if row is None:
            break  # the view has not caught up with the newest events yet
        if row["position"] != n.id:
            # Something inserted (store ahead) or deleted (audit ahead) here.
            return Verification(False, checked, min(row["position"], n.id), previous, last)
        previous = chain(previous, n)
        if previous != row["hash"]:
            return Verification(False, checked, n.id, row["hash"], last)
        checked += 1
        last = n.id
    leftover = next(audited, None)
    if leftover is not None:  # audited events that are gone from the store
        return Verification(False, checked, leftover["position"], previous, last)
    return Verification(True, checked, None, previous, last)


def _notifications(recorder: ApplicationRecorder, after: int = 0) -> Iterator[Notification]:
    position = after
    while True:
        batch = recorder.select_notifications(start=position, limit=BATCH, inclusive_of_start=False)
        if not batch:
            return
        yield from batch
        position = batch[-1].id


def _audit_rows(storage: ViewStorage, after: int = 0) -> Iterator[dict[str, Any]]:
    position = after
    while True:
        rows = storage.query(
            "SELECT position, hash FROM audit WHERE position > ? ORDER BY position LIMIT ?",
            (position, BATCH),
        )
        if not rows:
            return
        yield from rows
        position = rows[-1]["position"]
