"""Read models built from the event log, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import (
    AddNote,
    Assign,
    ChangeStatus,
    Escalate,
    InboundMessage,
    OpenRequest,
    QueueReply,
    RecordInbound,
)
from domain.users.commands import AddUser
from ledgerdesk.config import Database, Settings
from projections.audit import verify
from projections.registry import ReadModels, open_read_models
from projections.view import Db

AGENT = "agent@desk.cn"


@pytest.fixture
def views(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[ReadModels]:
    settings = Settings(
        database=store, data_dir=tmp_path, blob_dir=tmp_path / "blobs", secret_key="k"
    )
    models = open_read_models(settings, app)
    yield models
    models.close()


def catch_up(models: ReadModels) -> None:
    for projector in models.projectors:
        projector.catch_up()


def scenario(app: Ledgerdesk) -> tuple[str, str]:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="admin",
                                identities=[("email", "li@acme.cn")]))
    app.handle(AddUser(AGENT, ["agent"], actor="admin"))
    first = app.handle(RecordInbound(
        InboundMessage(
            channel="email",
            external_id="<m1@acme.cn>",
            sender="li@acme.cn",
            subject="打印机卡纸",
            body="每次打印都卡纸",
            attachments=(
                {
                    "sha256": "b" * 64,
                    "filename": "照片.jpg",
                    "content_type": "image/jpeg",
                    "size": 3,
                },
            ),
        )
    )).reference
    app.handle(Assign(first, AGENT, actor="manager"))
    app.handle(QueueReply(first, "请清理搓纸轮", actor=AGENT))
    app.handle(AddNote(first, "内部：可能需要上门", actor=AGENT))
    second = app.handle(OpenRequest(
        "ACME", "complaint", "服务太慢", actor=AGENT, channel="phone", priority="urgent"
    ))
    app.handle(Escalate(second, "大客户投诉", actor=AGENT))
    app.handle(ChangeStatus(first, "resolved", actor=AGENT, reason="已更换"))
    return first, second


def test_inbox_timeline_customer_and_reports(app: Ledgerdesk, views: ReadModels) -> None:
    first, second = scenario(app)
    catch_up(views)
    inbox = {r["reference"]: r for r in views["inbox"].query("SELECT * FROM inbox")}
    assert inbox[first]["status"] == "resolved" and inbox[first]["assignee"] == AGENT
    assert inbox[first]["awaiting_reply"] == 0 and inbox[first]["channel"] == "email"
    assert inbox[second]["status"] == "escalated" and inbox[second]["awaiting_reply"] == 1
    assert inbox[second]["sla_due_at"] is not None

    request_id = str(app.service_request(first).id)
    timeline = views["timeline"].query(
        "SELECT kind, direction, body, attachments FROM timeline WHERE request_id = ? "
        "ORDER BY position",
        (request_id,),
    )
    assert [t["kind"] for t in timeline] == [
        "opened",
        "message",
        "assignment",
        "reply",
        "note",
        "status",
    ]
    assert "照片.jpg" in timeline[1]["attachments"] and timeline[3]["direction"] == "outbound"

    customer = views["customers"].query("SELECT * FROM customers WHERE code = 'ACME'")[0]
    assert customer["name"] == "艾克美" and "li@acme.cn" in customer["identities"]
    assert customer["contact_count"] == 2  # the message in, the reply out

    daily = views["reports"].query(
        "SELECT channel, type, opened, interactions FROM report_daily ORDER BY channel"
    )
    assert [(d["channel"], d["opened"], d["interactions"]) for d in daily] == [
        ("email", 1, 1),
        ("phone", 1, 0),
    ]
    report = views["reports"].query(
        "SELECT first_response_seconds, resolution_seconds FROM report_requests "
        "WHERE reference = ?",
        (first,),
    )[0]
    assert report["first_response_seconds"] is not None and report["resolution_seconds"] >= 0


def test_rebuild_gives_the_same_rows(app: Ledgerdesk, views: ReadModels) -> None:
    scenario(app)
    catch_up(views)
    before = {name: views[name].query(f"SELECT * FROM {name}") for name in ("inbox", "audit")}
    for projector in views.projectors:
        projector.rebuild(batch_size=3)  # tiny batches: many transactions
    after = {name: views[name].query(f"SELECT * FROM {name}") for name in ("inbox", "audit")}
    assert after == before


class Crash(BaseException):
    """The process dies (like SystemExit or a kill): not an error a view could pass over."""


def test_crash_in_the_middle_of_a_batch_is_harmless(
    app: Ledgerdesk, views: ReadModels
) -> None:
    """A failure inside a batch rolls back the rows already written by the
    batch's earlier events together with its tracking position."""
    scenario(app)
    inbox = views["inbox"]
    real_apply = inbox.view.apply_notification
    calls = {"n": 0}

    def crashing(db: Db, event: Any, notification: Any) -> None:
        real_apply(db, event, notification)  # the row is written...
        calls["n"] += 1
        if calls["n"] == 12:
            raise Crash("power cut before the tracking write")  # ...then the process dies

    inbox.view.apply_notification = crashing  # type: ignore[method-assign]
    projector = views.projector("inbox")
    with pytest.raises(Crash):
        projector.catch_up(batch_size=100)
    assert projector.position() == 0
    assert inbox.query("SELECT COUNT(*) AS n FROM inbox")[0]["n"] == 0
    inbox.view.apply_notification = real_apply  # type: ignore[method-assign]
    projector.catch_up()
    assert [r["reference"] for r in inbox.query("SELECT reference FROM inbox ORDER BY reference")
            ] == ["SR-000001", "SR-000002"]
    assert projector.status().lag == 0


@pytest.mark.parametrize("name", ["timeline", "audit"])
def test_crash_between_view_write_and_tracking_write_is_harmless(
    app: Ledgerdesk, views: ReadModels, name: str
) -> None:
    """Views that append their rows in one go at the end of a batch: the rows
    are sent, then the tracking write fails.  Nothing of the batch remains, and
    the rerun applies every event exactly once."""
    scenario(app)
    storage = views[name]
    real_insert = storage._insert_tracking  # type: ignore[attr-defined]

    def crashing(cursor: Any, tracking: Any) -> None:
        raise Crash("power cut between the rows and the tracking record")

    storage._insert_tracking = crashing  # type: ignore[attr-defined]
    projector = views.projector(name)
    with pytest.raises(Crash):
        projector.catch_up(batch_size=100)
    assert projector.position() == 0
    assert storage.query(f"SELECT COUNT(*) AS n FROM {name}")[0]["n"] == 0
    storage._insert_tracking = real_insert  # type: ignore[attr-defined]
    projector.catch_up(batch_size=7)  # several batches, each continuing the last
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    expected = (
        len(notifications) if name == "audit"
        else sum(1 for n in notifications if ":ServiceRequest." in n.topic)
    )
    assert storage.query(f"SELECT COUNT(*) AS n FROM {name}")[0]["n"] == expected
    assert projector.status().lag == 0
    if name == "audit":
        assert verify(app.recorder, storage).intact


def tamper(store: Database, sql_sqlite: str, sql_pg: str, *params: object) -> None:
    if store.kind == "sqlite":
        import sqlite3

        assert store.path is not None
        with sqlite3.connect(store.path) as conn:
            conn.execute(sql_sqlite, params)
    else:
        with psycopg.connect(
            host=store.host, port=store.port, user=store.user, dbname=store.name, autocommit=True
        ) as conn:
            conn.execute(sql_pg.replace("?", "%s"), params)  # type: ignore[arg-type]


TABLE = {"sqlite": "stored_events", "postgresql": "ledgerdesk_events"}


@pytest.mark.parametrize("how", ["edit", "delete", "insert"])
def test_audit_verify_names_the_first_tampered_position(
    store: Database, app: Ledgerdesk, views: ReadModels, how: str
) -> None:
    scenario(app)
    catch_up(views)
    intact = verify(app.recorder, views["audit"])
    assert intact.intact and intact.checked == app.recorder.max_notification_id()
    position = 7
    sqlite_id, pg_id = "rowid", "notification_id"
    if how == "edit":
        # One byte more in the stored JSON: whitespace, so the event still decodes.
        tamper(
            store,
            f"UPDATE stored_events SET state = state || X'20' WHERE {sqlite_id} = ?",
            f"UPDATE {TABLE['postgresql']} SET state = state || '\\x20'::bytea WHERE {pg_id} = ?",
            position,
        )
    elif how == "delete":
        tamper(
            store,
            f"DELETE FROM stored_events WHERE {sqlite_id} = ?",
            f"DELETE FROM {TABLE['postgresql']} WHERE {pg_id} = ?",
            position,
        )
    else:
        # A forged event slipped in between two real ones: move everything after
        # position 6 up by one, then insert at 7.
        if store.kind == "sqlite":
            tamper(store, "UPDATE stored_events SET rowid = rowid + 1000 WHERE rowid >= 7", "")
            tamper(store, "UPDATE stored_events SET rowid = rowid - 999 WHERE rowid >= 1000", "")
            tamper(
                store,
                "INSERT INTO stored_events (rowid, originator_id, originator_version, "
                "topic, state) VALUES (7, '00000000000000000000000000000007', 1, 'x:y', X'7B7D')",
                "",
            )
        else:
            t = TABLE["postgresql"]
            tamper(
                store,
                "",
                f"UPDATE {t} SET notification_id = notification_id + 1000 "
                f"WHERE notification_id >= 7",
            )
            tamper(
                store,
                "",
                f"UPDATE {t} SET notification_id = notification_id - 999 "
                f"WHERE notification_id >= 1000",
            )
            tamper(
                store,
                "",
                f"INSERT INTO {t} (notification_id, originator_id, "
                f"originator_version, topic, state) VALUES (7, "
                f"'00000000-0000-0000-0000-000000000007', 1, 'x:y', '\\x7b7d')",
            )
    broken = verify(app.recorder, views["audit"])
    assert not broken.intact
    assert broken.first_broken == position
    assert broken.checked == position - 1


def test_a_view_whose_tables_changed_is_rebuilt_and_an_unchanged_one_is_kept(
    store: Database, app: Ledgerdesk, tmp_path: Path
) -> None:
    from projections.reports import ReportsView

    class ReportsNextVersion(ReportsView):
        version = ReportsView.version + 1

    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b", secret_key="k")
    scenario(app)
    head = app.recorder.max_notification_id()

    def reopen(cls: type[ReportsView]) -> tuple[int, int]:
        models = open_read_models(settings, app, view_classes=(cls,))
        try:
            position = models.projector("reports").position()
            models.projector("reports").catch_up()
            rows = models["reports"].query("SELECT COUNT(*) AS n FROM report_requests")[0]["n"]
            return position, rows
        finally:
            models.close()

    assert reopen(ReportsView) == (0, 2)
    assert reopen(ReportsView) == (head, 2)  # same shape: kept where it was
    assert reopen(ReportsNextVersion) == (0, 2)  # new shape: dropped and rebuilt
    assert reopen(ReportsNextVersion) == (head, 2)


def test_a_bulk_catch_up_leaves_the_planner_statistics_fresh(
    store: Database, app: Ledgerdesk, views: ReadModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a rebuild, queries are planned from the real row counts (ANALYZE;
    on PostgreSQL also VACUUM, which clears the dead row versions a rebuild's
    updates leave behind).  Live catch-up of a few events does not pay for it."""
    from projections import runner

    scenario(app)
    inbox = views["inbox"]
    stats = (
        "SELECT COUNT(*) AS n FROM sqlite_stat1 WHERE tbl = 'inbox'" if store.kind == "sqlite"
        else "SELECT vacuum_count + analyze_count AS n FROM pg_stat_user_tables "
             "WHERE relname = 'inbox'"
    )

    def tidied() -> int:
        try:
            return int(inbox.query(stats)[0]["n"])
        except Exception:  # SQLite has no sqlite_stat1 before its first ANALYZE
            return 0

    views.projector("inbox").catch_up()
    assert tidied() == 0  # a handful of events: left to autovacuum
    monkeypatch.setattr(runner, "TIDY_AFTER", 5)
    views.projector("inbox").rebuild()
    assert tidied() > 0
