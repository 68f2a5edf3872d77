"""One IMAP connection to the support mailbox (aioimaplib), with IDLE, MOVE and STARTTLS."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Awaitable
from typing import Any, TypeVar

import aioimaplib

from channels.email.settings import ImapConfig

T = TypeVar("T")


class ImapError(Exception):
    """The server refused a command or went away; the loop reconnects."""


class ConnectionLost(ImapError):
    pass


class Session:
    """One logged-in connection with the mailbox selected.

    aioimaplib 2.0.3 notices a dropped connection only through ``conn_lost_cb``; a command
    sent afterwards waits for its timeout. Every command is therefore raced against the
    "lost" event, so a drop is seen at once.
    """

    def __init__(self, config: ImapConfig) -> None:
        self.config = config
        self.lost = asyncio.Event()
        self.client: aioimaplib.IMAP4 | None = None
        self.uidvalidity: int | None = None
        # Per connection: after a reconnect everything still in the mailbox is read again, so a
        # message whose recording or move failed is retried (as a duplicate at worst).
        self.last_uid = 0

    async def open(self) -> None:
        config = self.config
        if config.tls == "ssl":
            self.client = aioimaplib.IMAP4_SSL(
                config.host, config.port, timeout=config.timeout,
                conn_lost_cb=self._connection_lost, ssl_context=ssl.create_default_context(),
            )
        else:
            self.client = aioimaplib.IMAP4(
                config.host, config.port, timeout=config.timeout, conn_lost_cb=self._connection_lost
            )
        await self._run(self.client.wait_hello_from_server())
        if config.tls == "starttls":
            await self._starttls()
        await self._ok(self.client.login(config.user, config.password), "LOGIN")
        # "already exists" is the usual answer and fine.
        await self._run(self.client.create(config.processed_folder))
        response = await self._ok(self.client.select(config.mailbox), f"SELECT {config.mailbox}")
        self.uidvalidity = _uidvalidity(response.lines)

    async def _starttls(self) -> None:
        # aioimaplib 2.0.3 has no STARTTLS: the command is sent by hand and asyncio upgrades
        # the same transport, then capabilities are read again as RFC 3501 requires.
        assert self.client is not None
        protocol = self.client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ImapError("the server does not offer STARTTLS")
        await self._ok(protocol.simple_command("STARTTLS"), "STARTTLS")
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(
            protocol.transport, protocol, ssl.create_default_context(),
            server_hostname=self.config.host,
        )
        if transport is None:
            raise ImapError("the TLS handshake failed")
        protocol.transport = transport
        await self._run(protocol.capability())

    def _connection_lost(self, error: Exception | None) -> None:
        self.lost.set()

    def has(self, capability: str) -> bool:
        return self.client is not None and self.client.has_capability(capability)

    async def _run(self, command: Awaitable[T]) -> T:
        task = asyncio.ensure_future(command)
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if not task.done():
            task.cancel()
            raise ConnectionLost("the IMAP server closed the connection")
        try:
            return task.result()
        except (TimeoutError, aioimaplib.AioImapException, OSError) as error:
            raise ImapError(f"IMAP command failed: {error!r}") from error

    async def _ok(self, command: Awaitable[Any], what: str) -> Any:
        response = await self._run(command)
        if response.result != "OK":
            raise ImapError(f"{what} refused: {_text(response.lines)}")
        return response

    async def new_uids(self, after: int) -> list[int]:
        assert self.client is not None
        # "n:*" always matches the highest UID, even below n, so the result is filtered.
        response = await self._ok(
            self.client.uid_search(f"UID {after + 1}:*", "UNDELETED", charset=None), "SEARCH"
        )
        uids: set[int] = set()
        for line in response.lines[:-1]:
            text = bytes(line).decode("ascii", "replace").strip()
            if text.startswith("SEARCH"):
                text = text[len("SEARCH") :]
            if re.fullmatch(r"[\d\s]*", text):
                uids.update(int(token) for token in text.split())
        return sorted(uid for uid in uids if uid > after)

    async def fetch(self, uids: list[int]) -> list[tuple[int, bytes]]:
        assert self.client is not None
        response = await self._ok(
            self.client.uid("fetch", ",".join(map(str, uids)), "(UID BODY.PEEK[])"), "FETCH"
        )
        return _fetched_messages(response.lines)

    async def mark_processed(self, uids: list[int]) -> None:
        assert self.client is not None
        uid_set = ",".join(map(str, uids))
        folder = self.config.processed_folder
        if self.has("MOVE"):
            await self._ok(self.client.uid("move", uid_set, folder), "MOVE")
            return
        await self._ok(self.client.uid("copy", uid_set, folder), "COPY")
        await self._ok(self.client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
        if self.has("UIDPLUS"):
            await self._ok(self.client.uid("expunge", uid_set), "UID EXPUNGE")
        else:
            await self._ok(self.client.expunge(), "EXPUNGE")

    async def wait_for_mail(self, stop: asyncio.Event) -> None:
        """Return when new mail may have arrived, the wait timed out, or ``stop`` is set."""
        assert self.client is not None
        if not self.has("IDLE"):
            await wait_any(stop, self.lost, timeout=self.config.poll_interval)
            if self.lost.is_set():
                raise ConnectionLost("the IMAP server closed the connection")
            return
        idle = await self._run(self.client.idle_start(timeout=self.config.idle_timeout))
        push = asyncio.ensure_future(self.client.wait_server_push(timeout=self.config.idle_timeout))
        stopping = asyncio.ensure_future(stop.wait())
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            await asyncio.wait({push, stopping, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (push, stopping, lost):
                task.cancel()
        if self.lost.is_set():
            idle.cancel()
            raise ConnectionLost("the IMAP server closed the connection during IDLE")
        self.client.idle_done()
        # DONE must be acknowledged before any other command may be sent.
        await self._run(asyncio.wait_for(idle, self.config.timeout))

    async def close(self) -> None:
        if self.client is None:
            return
        client, self.client = self.client, None
        if not self.lost.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.logout(), 2)
        with contextlib.suppress(Exception):
            transport = client.protocol.transport
            if transport is not None:
                transport.close()


def _text(lines: list[Any]) -> str:
    return " ".join(bytes(line).decode("utf-8", "replace") for line in lines if len(line) < 500)


def _uidvalidity(lines: list[Any]) -> int | None:
    for line in lines:
        match = re.search(rb"\[UIDVALIDITY (\d+)\]", bytes(line))
        if match:
            return int(match.group(1))
    return None


_FETCH_UID = re.compile(rb"\bUID (\d+)")


def _fetched_messages(lines: list[Any]) -> list[tuple[int, bytes]]:
    """(uid, raw) pairs from a UID FETCH response; the literal is the bytearray item."""
    found: list[tuple[int, bytes]] = []
    header_uid: int | None = None
    pending: bytes | None = None
    for line in lines:
        if isinstance(line, bytearray):
            pending = bytes(line)
            continue
        match = _FETCH_UID.search(line)
        if b" FETCH " in line or line.split(b" ", 2)[1:2] == [b"FETCH"]:
            header_uid = int(match.group(1)) if match else None
        elif match and header_uid is None:
            header_uid = int(match.group(1))  # UID sent after the literal
        if pending is not None and header_uid is not None:
            found.append((header_uid, pending))
            pending, header_uid = None, None
    return found


async def wait_any(*events: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


