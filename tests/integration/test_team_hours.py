"""Business hours per team (issue 15, item 1): a request in a team's queue runs
its SLA clocks on that team's hours and time zone, from the [sla] table's
`teams`, on SQLite and PostgreSQL.  The default hours stay for the others."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import OpenRequest, Transfer
from domain.routing.settings import RoutingSettings
from domain.teams.commands import CreateTeam
from domain.users.commands import AddUser
from ledgerdesk.config import Database, Settings
from ledgerdesk.sla_config import sla_settings
from projections.registry import ReadModels, open_read_models

H = timedelta(hours=1)
AGENT = "agent@desk.cn"
LONDON = ZoneInfo("Europe/London")
# Shanghai 09:00–18:00 by default; the London desk 09:00–17:00 on its own clock.
SLA = sla_settings({
    "hours": {"zone": "Asia/Shanghai", "mon-fri": "09:00-18:00"},
    "teams": {"london": {"zone": "Europe/London", "mon-fri": "09:00-17:00"}},
})


class Desk:
    def __init__(self, app: Ledgerdesk, store: Database, tmp_path: Path) -> None:
        settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                            secret_key="k", sla=SLA)
        self.app = app
        self.models: ReadModels = open_read_models(settings, app)

    def row(self, reference: str) -> dict[str, Any]:
        self.models.projector("inbox").catch_up()
        [row] = self.models["inbox"].query("SELECT * FROM inbox WHERE reference = ?",
                                           (reference,))
        return row

    def open(self) -> str:
        return str(self.app.handle(OpenRequest("ACME", "support", "卡纸", actor=AGENT)))


@pytest.fixture
def desk(app: Ledgerdesk, store: Database, tmp_path: Path) -> Iterator[Desk]:
    app.handle(AddUser(AGENT, ["agent"], actor="setup"))
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup"))
    app.handle(CreateTeam("london", "London desk", actor="setup"))
    d = Desk(app, store, tmp_path)
    yield d
    d.models.close()


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def within_london_hours(at: datetime) -> bool:
    local = at.astimezone(LONDON)
    return local.weekday() < 5 and time(9) <= local.time() <= time(17)


def test_a_transfer_to_a_team_moves_the_clocks_onto_its_hours(desk: Desk) -> None:
    reference = desk.open()
    before = desk.row(reference)
    opened = moment(before["opened_at"])
    default, london = SLA.calendar(), SLA.calendar("london")
    assert moment(before["response_due_at"]) == default.add(opened, 8 * H)
    desk.app.handle(Transfer(reference, "team:london", "their customer", actor=AGENT))
    row = desk.row(reference)
    assert row["team"] == "london"
    due = moment(row["response_due_at"])
    assert due == london.add(opened, 8 * H) != default.add(opened, 8 * H)
    assert within_london_hours(due)
    assert moment(row["sla_due_at"]) == due
    assert moment(row["response_warn_at"]) == london.add(opened, 6.4 * H)
    assert moment(row["resolution_due_at"]) == london.add(opened, 40 * H)
    assert within_london_hours(moment(row["resolution_due_at"]))


def test_a_routed_request_runs_on_its_team_hours_from_the_start(desk: Desk) -> None:
    desk.app.store.routing = RoutingSettings(enabled=True, teams={"support": "london"})
    reference = desk.open()
    row = desk.row(reference)
    assert row["team"] == "london"
    assert moment(row["response_due_at"]) == SLA.calendar("london").add(
        moment(row["opened_at"]), 8 * H)
    # A team without hours of its own keeps the default ones.
    desk.app.handle(CreateTeam("hotline", "热线", actor="setup"))
    desk.app.handle(Transfer(reference, "team:hotline", "back home", actor=AGENT))
    row = desk.row(reference)
    assert moment(row["response_due_at"]) == SLA.calendar().add(moment(row["opened_at"]), 8 * H)
