"""Reminders (预约提示): every reminder with its state, for the request page and
the timer that fires them (policies.reminder_timers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.aggregates.customer import Customer
from domain.aggregates.reminder import Reminder as R
from projections.redaction import erased_text_sql, marks
from projections.storage import ViewStorage
from projections.view import Db, View, handles, iso


class RemindersView(View):
    name = "reminders"
    tables = ("reminders",)
    schema = (
        """CREATE TABLE IF NOT EXISTS reminders (
            reminder_id TEXT PRIMARY KEY,
            reference TEXT NOT NULL,
            customer_code TEXT NOT NULL,
            for_user TEXT NOT NULL,
            set_by TEXT NOT NULL,
            at TEXT NOT NULL,
            note TEXT NOT NULL,
            state TEXT NOT NULL,
            set_at TEXT NOT NULL,
            done_at TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS reminders_due ON reminders (state, at)",
        "CREATE INDEX IF NOT EXISTS reminders_reference ON reminders (reference)",
    )

    @handles(R.Set)
    def set(self, db: Db, e: Any, position: int) -> None:
        db.execute("""INSERT INTO reminders (reminder_id, reference, customer_code, for_user,
                          set_by, at, note, state, set_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'set', ?)
                      ON CONFLICT (reminder_id) DO NOTHING""",
                   (str(e.originator_id), e.reference, e.customer_code, e.for_user, e.actor,
                    iso(e.at), e.note, iso(e.timestamp)))

    @handles(R.Cancelled, R.Fired)
    def done(self, db: Db, e: Any, position: int) -> None:
        state = "fired" if isinstance(e, R.Fired) else "cancelled"
        db.execute("UPDATE reminders SET state = ?, done_at = ? WHERE reminder_id = ?",
                   (state, iso(e.timestamp), str(e.originator_id)))

    @handles(Customer.Erased)
    def erased(self, db: Db, e: Any, position: int) -> None:
        db.execute(f"UPDATE reminders SET note = {erased_text_sql('note')} "
                   f"WHERE customer_code IN ({marks(e.codes)})", e.codes)


def reminders_of(storage: ViewStorage, reference: str) -> list[dict[str, Any]]:
    """A request's reminders, the pending ones first, each by its time."""
    return storage.query(
        """SELECT reminder_id AS id, reference, for_user, set_by, at, note, state, set_at,
                  done_at FROM reminders WHERE reference = ?
           ORDER BY CASE WHEN state = 'set' THEN 0 ELSE 1 END, at""", (reference,))


def due_reminders(storage: ViewStorage, now: datetime, limit: int = 200
                  ) -> list[tuple[str, datetime]]:
    rows = storage.query("SELECT reminder_id, at FROM reminders WHERE state = 'set' AND at <= ? "
                         "ORDER BY at LIMIT ?", (iso(now), limit))
    return [(r["reminder_id"], datetime.fromisoformat(r["at"])) for r in rows]
