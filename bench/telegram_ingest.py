"""Telegram ingest benchmark: updates per second from a Bot API server into the store,
against the bare recording rates measured like bench/ingest.py, in the same run.

The Bot API is the tests' stand-in (tests/support/telegram_api.py) on localhost,
reached through python-telegram-bot as in production; the channel's poller fetches
updates in batches of 100 (getUpdates), records each (one RecordInbound: find the
user, thread to the chat's request, save message + contact + receipt atomically),
and persists the offset after each.  Each user's first message opens a request for
a new provisional customer; the rest join it.

Three figures per store:
- telegram: updates/s end to end (fetch, parse, record, offset);
- record_inbound: the same messages recorded straight through the domain
  (what bench/ingest.py measures), on a fresh store: the channel's own cost is
  the gap between the two;
- bare: the library's append of one plain event per save (bench/ingest.py's baseline).

Usage: python bench/telegram_ingest.py [--updates 3000] [--users 300] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import throwaway_store
from bench.ingest import bare_rate
from channels.chat.channel import TelegramChannel
from channels.chat.settings import TelegramConfig
from channels.chat.state import TelegramState
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.requests.commands import InboundMessage, RecordInbound
from ledgerdesk.persistence import event_store_env
from tests.support.telegram_api import TOKEN, RunningStandIn

FIRST_USER = 500_000_000


def telegram_rate(kind: str, updates: int, users: int) -> float:
    with throwaway_store(kind) as store, tempfile.TemporaryDirectory() as tmp, \
            RunningStandIn() as api:
        app = Ledgerdesk(env=event_store_env(store))
        state = TelegramState.open(store, Path(tmp))
        channel = TelegramChannel(app, BlobStore(Path(tmp) / "blobs"),
                                  TelegramConfig(token=TOKEN, base_url=api.base_url), state)
        for i in range(updates):
            api.message(FIRST_USER + i % users, f"第 {i} 条消息：设备仍然报错 E{i % 97}")
        try:
            started = time.perf_counter()
            report = asyncio.run(channel.poller.run_once(max_batches=updates))
            elapsed = time.perf_counter() - started
        finally:
            state.close()
            app.close()
        assert report.count("recorded") == updates, report.count("recorded")
        rate = updates / elapsed
        print(f"[{kind}] telegram poll → store: {rate:8.0f} updates/s "
              f"({updates} updates from {users} users in {elapsed:.1f}s)")
        return rate


def direct_rate(kind: str, updates: int, users: int) -> float:
    with throwaway_store(kind) as store:
        app = Ledgerdesk(env=event_store_env(store))
        references: dict[int, str] = {}
        try:
            started = time.perf_counter()
            for i in range(updates):
                user = FIRST_USER + i % users
                hint = references.get(user)
                recorded = app.handle(RecordInbound(InboundMessage(
                    channel="telegram", external_id=f"{user}:{i}", sender=str(user),
                    body=f"第 {i} 条消息：设备仍然报错 E{i % 97}", sender_name="Wang Fang",
                    occurred_at=datetime.now(UTC), thread_hints=(hint,) if hint else (),
                    details={"chat_id": user, "message_id": i},
                )))
                references[user] = recorded.reference
            elapsed = time.perf_counter() - started
            rate = updates / elapsed
        finally:
            app.close()
        print(f"[{kind}] record_inbound (same messages, no channel): {rate:8.0f} /s")
        bare = bare_rate(event_store_env(store), updates)
        print(f"[{kind}] bare eventsourcing append: {bare:8.0f} events/s")
        return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    for kind in args.stores.split(","):
        telegram = telegram_rate(kind, args.updates, args.users)
        direct = direct_rate(kind, args.updates, args.users)
        print(f"[{kind}] the channel runs at {telegram / direct:.2f} of the domain's "
              f"recording rate")


if __name__ == "__main__":
    main()
