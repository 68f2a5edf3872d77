"""The key store: one data key per customer, wrapped by the master key.

Personal fields of events are sealed with their customer's data key
(domain.sealing); erasing a customer destroys that key, and this table is the
only thing Ledgerdesk ever deletes from.  It lives apart from the event log: on
SQLite a file of its own beside the database (`<db>.keys.db`, 0600, with
`secure_delete` so a destroyed key does not linger in free pages), on
PostgreSQL tables of its own in the same database (`ledgerdesk_keys`).

The master key comes from LEDGERDESK_MASTER_KEY (32 bytes, URL-safe base64) or
a file generated in the data folder (ledgerdesk.config).  Two keys are derived
from it with HKDF: one wraps the data keys (AES-GCM, the key id as associated
data), the other keys the HMAC of index ids (domain.ids).  A check value
written when the key store is created proves at every start that this process
has the right master key: with the wrong one Ledgerdesk refuses to start,
rather than showing every customer as erased.

Other processes learn of a destroyed key within a second: `ledgerdesk_key_erasures`
is polled at most once a second when a key is used, and the key ring tells its
listeners (the application drops its cache of aggregates read in clear).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from domain.errors import CustomerWasErased
from domain.private_files import create_private_file
from domain.sealing import KeyMissing, KeyStoreError

log = logging.getLogger(__name__)

CHECK_PLAINTEXT = b"ledgerdesk key store v1"
CACHE_SIZE = 10_000
REVOCATION_POLL = 1.0  # seconds between looks for keys destroyed by other processes
KEY_STORE_LOCK = 0x6C64_6B65_7973  # PostgreSQL advisory lock id ("ldkeys")

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS ledgerdesk_keys (
        key_id TEXT PRIMARY KEY,
        wrapped {blob},
        created_at TEXT NOT NULL,
        destroyed_at TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS ledgerdesk_key_erasures (
        seq {serial},
        key_id TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ledgerdesk_keystore (
        name TEXT PRIMARY KEY,
        value {blob} NOT NULL
    )""",
)


def parse_master_key(text: str) -> bytes:
    """LEDGERDESK_MASTER_KEY: 32 bytes in URL-safe base64 (padding optional)."""
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise KeyStoreError(
            "LEDGERDESK_MASTER_KEY must be 32 bytes in URL-safe base64, e.g. from: python3 -c "
            "'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
        )
    return key


def new_master_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def derived(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"ledgerdesk {purpose}".encode()).derive(master)


def fingerprint(master: bytes) -> str:
    return hmac.new(master, b"ledgerdesk master key id", hashlib.sha256).hexdigest()[:12]


class KeyTable:
    """The three tables, on SQLite or PostgreSQL; one connection, one lock."""

    def __init__(self, dialect: str, connect: Callable[[], Any]) -> None:
        self.dialect = dialect
        self._connect = connect
        self._conn: Any = None
        self._lock = threading.Lock()
        blob, serial = (("BYTEA", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
                        if dialect == "postgresql" else
                        ("BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT"))
        with self.transaction(serialised=True) as run:
            for statement in SCHEMA:
                run(statement.format(blob=blob, serial=serial))

    def read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """One query in a read-only transaction (on SQLite without the write lock)."""
        with self.transaction(write=False) as run:
            return run(sql, params)

    @contextlib.contextmanager
    def transaction(
        self, serialised: bool = False, write: bool = True
    ) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
        """One transaction; yields run(sql, params) -> rows.  A broken connection
        is dropped, so the next transaction reconnects.  `serialised`: one such
        transaction at a time across processes (SQLite's write lock is always
        taken; on PostgreSQL an advisory lock, since concurrent CREATE TABLE IF
        NOT EXISTS can fail there)."""
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            conn = self._conn
            marks = "%s" if self.dialect == "postgresql" else "?"

            def run(sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
                cursor = conn.execute(sql.replace("?", marks), tuple(params))
                return list(cursor.fetchall()) if cursor.description else []

            try:
                if self.dialect == "sqlite":
                    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                elif serialised:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (KEY_STORE_LOCK,))
                yield run
                conn.commit()
            except BaseException:
                try:
                    conn.rollback()
                except Exception:
                    self._drop()
                if isinstance(conn, psycopg.Connection) and conn.closed:
                    self._drop()
                raise

    def _drop(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()
        self._conn = None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._drop()


def sqlite_table(path: Path) -> KeyTable:
    create_private_file(path)

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        # isolation_level=None: KeyTable issues BEGIN IMMEDIATE itself.
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA journal_mode = DELETE")
        return conn

    return KeyTable("sqlite", connect)


def postgres_table(params: Mapping[str, str]) -> KeyTable:
    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=params["POSTGRES_HOST"], port=params["POSTGRES_PORT"],
            user=params["POSTGRES_USER"], password=params.get("POSTGRES_PASSWORD", ""),
            dbname=params["POSTGRES_DBNAME"], connect_timeout=5,
        )

    return KeyTable("postgresql", connect)


class DatabaseKeyRing:
    """domain.sealing.KeyRing over a KeyTable."""

    def __init__(self, table: KeyTable, master: bytes) -> None:
        self.table = table
        self._wrapping = AESGCM(derived(master, "key wrapping"))
        self._index_key = derived(master, "index ids")
        self._master_id = fingerprint(master)
        self._cache: OrderedDict[str, AESGCM] = OrderedDict()
        self._destroyed: set[str] = set()
        self._lock = threading.Lock()
        self._seen_erasure = 0
        self._next_poll = 0.0
        self.listeners: list[Callable[[set[str]], None]] = []
        self.created_now = self._check_master_key()

    # --- the KeyRing protocol -------------------------------------------------

    def index_key(self) -> bytes:
        return self._index_key

    def sealing_key(self, owner: str) -> AESGCM:
        self._poll_revocations()
        cached = self._cached(owner)
        if cached is not None:
            return cached
        if owner in self._destroyed:
            raise CustomerWasErased(f"customer {owner} was erased")
        fresh = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        wrapped = nonce + self._wrapping.encrypt(nonce, fresh, owner.encode())
        with self.table.transaction() as run:
            run("INSERT INTO ledgerdesk_keys (key_id, wrapped, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key_id) DO NOTHING", (owner, wrapped, _now()))
            rows = run("SELECT wrapped FROM ledgerdesk_keys WHERE key_id = ?", (owner,))
        key = self._unwrapped(owner, rows[0][0])  # the winner's key, if another process raced us
        if key is None:
            raise CustomerWasErased(f"customer {owner} was erased")
        return key

    def opening_key(self, key_id: str) -> AESGCM | None:
        self._poll_revocations()
        cached = self._cached(key_id)
        if cached is not None or key_id in self._destroyed:
            return cached
        rows = self.table.read("SELECT wrapped FROM ledgerdesk_keys WHERE key_id = ?", (key_id,))
        if not rows:
            raise KeyMissing(
                f"the key store has no key {key_id!r}, which sealed events in this store: "
                f"it is not the key store this event store was written with"
            )
        return self._unwrapped(key_id, rows[0][0])

    def destroy(self, key_ids: Iterable[str]) -> None:
        """Destroy the keys (idempotent).  A tombstone stays, so the key is never
        created again and its events read as erased, not as missing."""
        wanted = sorted(set(key_ids) - self._destroyed)  # known here to be gone already
        if not wanted:
            return
        destroyed_now = []
        with self.table.transaction() as run:
            for key_id in wanted:
                rows = run("SELECT destroyed_at FROM ledgerdesk_keys WHERE key_id = ?", (key_id,))
                if rows and rows[0][0] is not None:
                    continue
                destroyed_now.append(key_id)
                now = _now()
                if rows:
                    run("UPDATE ledgerdesk_keys SET wrapped = NULL, destroyed_at = ? "
                        "WHERE key_id = ?", (now, key_id))
                else:
                    run("INSERT INTO ledgerdesk_keys (key_id, wrapped, created_at, destroyed_at) "
                        "VALUES (?, NULL, ?, ?)", (key_id, now, now))
                run("INSERT INTO ledgerdesk_key_erasures (key_id, at) VALUES (?, ?)",
                    (key_id, now))
        if destroyed_now and self.table.dialect == "postgresql":
            # Dead row versions would keep the old key bytes until autovacuum.
            self._vacuum()
        self._forget(set(wanted))

    def refresh(self) -> None:
        self._poll_revocations()

    def is_destroyed(self, key_id: str) -> bool:
        self._poll_revocations()
        if key_id in self._destroyed:
            return True
        rows = self.table.read("SELECT destroyed_at FROM ledgerdesk_keys WHERE key_id = ?",
                               (key_id,))
        return bool(rows) and rows[0][0] is not None

    def close(self) -> None:
        self.table.close()

    # --- inside ------------------------------------------------------------------

    def _cached(self, key_id: str) -> AESGCM | None:
        with self._lock:
            key = self._cache.get(key_id)
            if key is not None:
                self._cache.move_to_end(key_id)
            return key

    def _unwrapped(self, key_id: str, wrapped: bytes | None) -> AESGCM | None:
        if wrapped is None:
            with self._lock:
                self._destroyed.add(key_id)
            return None
        wrapped = bytes(wrapped)
        try:
            key = AESGCM(self._wrapping.decrypt(wrapped[:12], wrapped[12:], key_id.encode()))
        except InvalidTag:
            raise KeyStoreError(
                f"the data key {key_id!r} does not open with this master key") from None
        with self._lock:
            self._cache[key_id] = key
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return key

    def _forget(self, key_ids: set[str]) -> None:
        key_ids = key_ids - self._destroyed
        if not key_ids:
            return
        with self._lock:
            for key_id in key_ids:
                self._cache.pop(key_id, None)
            self._destroyed |= key_ids
        for listener in self.listeners:
            listener(key_ids)

    def _poll_revocations(self) -> None:
        now = time.monotonic()
        if now < self._next_poll:
            return
        self._next_poll = now + REVOCATION_POLL
        rows = self.table.read("SELECT seq, key_id FROM ledgerdesk_key_erasures WHERE seq > ? "
                               "ORDER BY seq", (self._seen_erasure,))
        if rows:
            self._seen_erasure = rows[-1][0]
            self._forget({key_id for _, key_id in rows} - self._destroyed)

    def _vacuum(self) -> None:
        with contextlib.suppress(psycopg.Error):
            conn = self.table._connect()
            try:
                conn.autocommit = True
                conn.execute("VACUUM ledgerdesk_keys")
            finally:
                conn.close()

    def _check_master_key(self) -> bool:
        """True when this call created the key store.  Refuses a master key that
        is not the one the key store was made with."""
        nonce = os.urandom(12)
        check = nonce + self._wrapping.encrypt(nonce, CHECK_PLAINTEXT, b"check")
        with self.table.transaction(serialised=True) as run:
            found = run("SELECT value FROM ledgerdesk_keystore WHERE name = 'check'")
            if not found:
                keys = run("SELECT count(*) FROM ledgerdesk_keys")[0][0]
                if keys:
                    raise KeyStoreError("the key store has keys but no check value: "
                                        "it was tampered with or only partly restored")
                run("INSERT INTO ledgerdesk_keystore (name, value) VALUES ('check', ?)", (check,))
                run("INSERT INTO ledgerdesk_keystore (name, value) VALUES ('master_id', ?)",
                    (self._master_id.encode(),))
                created = True
            else:
                check, created = bytes(found[0][0]), False
            rows = run("SELECT value FROM ledgerdesk_keystore WHERE name = 'master_id'")
            made_with = bytes(rows[0][0]).decode() if rows else "?"
            # Erasures before this start are known already; later ones are polled.
            latest = run("SELECT max(seq) FROM ledgerdesk_key_erasures")[0][0]
            destroyed = run("SELECT key_id FROM ledgerdesk_keys WHERE destroyed_at IS NOT NULL")
        try:
            self._wrapping.decrypt(check[:12], check[12:], b"check")
        except InvalidTag:
            raise KeyStoreError(
                f"LEDGERDESK_MASTER_KEY does not open this key store (made with master key "
                f"{made_with}; this process has {self._master_id}). Restore the right key "
                f"(the variable, or master_key in the data folder): starting would make "
                f"every customer look erased."
            ) from None
        self._seen_erasure = latest or 0
        self._destroyed = {key_id for (key_id,) in destroyed}
        return created


def open_key_ring(env: Mapping[str, str]) -> DatabaseKeyRing:
    """The key ring for the event store `env` describes (ledgerdesk.persistence)."""
    master = parse_master_key(env.get("LEDGERDESK_MASTER_KEY", ""))
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        table = postgres_table(env)
    else:
        table = sqlite_table(key_store_path(Path(env["SQLITE_DBNAME"])))
    return DatabaseKeyRing(table, master)


def key_store_path(database: Path) -> Path:
    return database.with_name(database.name + ".keys")


def _now() -> str:
    return datetime.now(UTC).isoformat()
