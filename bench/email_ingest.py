"""Email ingest benchmark: messages per second from a real Dovecot into the event store.

2,000 messages of mixed size (10 % with an attachment) are appended to a private Dovecot. For
each store, the same messages are first fetched with bare aioimaplib (the reference: what the
IMAP round trips alone cost), then ingested end to end with MailIngest.run_once: fetch, raw
message and attachments into the blob store, parse, thread, record, acknowledge, move to
Processed. Between stores the messages are moved back to INBOX.

Usage: python bench/email_ingest.py [--messages 2000] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aioimaplib

from bench.common import rss_mib, throwaway_store
from channels.email.ingest import ImapConfig, MailIngest
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from ledgerdesk.persistence import event_store_env
from tests.support.mailservers import Dovecot

SUPPORT = "support@bench.example"
FETCH_BATCH = 50
WORDS = [
    "打印机", "无法", "开机", "错误", "显示", "请", "帮助",
    "printer", "error", "restart", "manual", "invoice",
]


def make_messages(count: int, seed: int = 11) -> list[bytes]:
    rng = random.Random(seed)
    messages = []
    for n in range(count):
        message = EmailMessage()
        customer = rng.randrange(count // 4 or 1)
        message["From"] = f"Customer {customer} <customer{customer}@example.com>"
        message["To"] = SUPPORT
        message["Subject"] = f"问题 {n}: " + " ".join(rng.choices(WORDS, k=4))
        message["Message-ID"] = f"<bench-{n}@example.com>"
        # Mixed sizes: most mail is a few lines, some is long.
        paragraphs = rng.choice((1, 2, 5, 20, 80))
        message.set_content("\n\n".join(" ".join(rng.choices(WORDS, k=30))
                                        for _ in range(paragraphs)))
        if n % 10 == 0:
            size = rng.choice((20_000, 100_000, 400_000))
            message.add_attachment(rng.randbytes(size), maintype="application",
                                   subtype="octet-stream", filename=f"log-{n}.bin")
        messages.append(message.as_bytes())
    return messages


async def bare_fetch_rate(dovecot: Dovecot) -> tuple[int, float]:
    """SEARCH and UID FETCH of every message, in the same batches MailIngest uses."""
    client = aioimaplib.IMAP4(dovecot.host, dovecot.port, timeout=60)
    await client.wait_hello_from_server()
    await client.login(dovecot.user, dovecot.password)
    await client.select("INBOX")
    started = time.perf_counter()
    response = await client.uid_search("ALL", charset=None)
    uids = [int(t) for line in response.lines[:-1] for t in bytes(line).split() if t.isdigit()]
    fetched = 0
    for start in range(0, len(uids), FETCH_BATCH):
        batch = ",".join(map(str, uids[start : start + FETCH_BATCH]))
        response = await client.uid("fetch", batch, "(UID BODY.PEEK[])")
        fetched += sum(1 for line in response.lines if isinstance(line, bytearray))
    elapsed = time.perf_counter() - started
    await client.logout()
    return fetched, fetched / elapsed


async def move_back(dovecot: Dovecot) -> None:
    client = aioimaplib.IMAP4(dovecot.host, dovecot.port, timeout=60)
    await client.wait_hello_from_server()
    await client.login(dovecot.user, dovecot.password)
    await client.select("Processed")
    response = await client.uid_search("ALL", charset=None)
    uids = [int(t) for line in response.lines[:-1] for t in bytes(line).split() if t.isdigit()]
    # Small sets: aioimaplib 2.0.3 parses the lines of one read recursively, and the ~2,000
    # EXPUNGE lines of one big MOVE overflow the stack and kill the connection.
    for start in range(0, len(uids), FETCH_BATCH):
        await client.uid("move", ",".join(map(str, uids[start : start + FETCH_BATCH])), "INBOX")
    await client.logout()


async def run(kind: str, dovecot: Dovecot, count: int) -> None:
    fetched, bare = await bare_fetch_rate(dovecot)
    assert fetched == count, f"bare fetch saw {fetched} of {count} messages"
    with throwaway_store(kind) as store, tempfile.TemporaryDirectory(prefix="ld-blobs-") as tmp:
        app = Ledgerdesk(env=event_store_env(store))
        try:
            config = ImapConfig(host=dovecot.host, port=dovecot.port, user=dovecot.user,
                                password=dovecot.password, timeout=60, fetch_batch=FETCH_BATCH)
            ingest = MailIngest(app, BlobStore(tmp), config, SUPPORT)
            started = time.perf_counter()
            report = await ingest.run_once()
            elapsed = time.perf_counter() - started
        finally:
            app.close()
    assert report.recorded == count, report
    rate = count / elapsed
    print(f"{kind:9} end to end: {rate:8.1f} messages/s ({count} in {elapsed:.1f} s) | "
          f"bare aioimaplib fetch (same run): {bare:8.1f} messages/s | "
          f"ratio {rate / bare:.2f} | rss {rss_mib():.0f} MiB")
    await move_back(dovecot)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.stores.split(",") if k.strip()]
    messages = make_messages(args.messages)
    total = sum(len(m) for m in messages)
    print(f"{len(messages)} messages, {total / 2**20:.1f} MiB, "
          f"{sum(1 for n in range(len(messages)) if n % 10 == 0)} with attachments; "
          f"cpu count {os.cpu_count()}")
    with Dovecot() as dovecot:
        started = time.perf_counter()
        for raw in messages:
            dovecot.append(raw)
        print(f"appended in {time.perf_counter() - started:.1f} s")
        for kind in kinds:
            asyncio.run(run("postgresql" if kind == "postgres" else kind, dovecot, len(messages)))


if __name__ == "__main__":
    main()
