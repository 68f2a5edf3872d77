"""One event never stops a view for good (issue 9, item 1), on both stores.

A poison event (one a view cannot apply, whatever the reason) is passed over
and recorded, the view goes on with the events after it, and the failure shows
in the view's status; an outage of the database is not a poison event.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.errors import InvalidInput
from domain.requests.commands import OpenRequest
from ledgerdesk.config import Database, Settings
from projections.registry import ReadModels, open_read_models
from projections.view import Db

AGENT = "agent@desk.cn"


@pytest.fixture
def views(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[ReadModels]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "blobs",
                        secret_key="k")
    models = open_read_models(settings, app)
    yield models
    models.close()


def open_three(app: Ledgerdesk) -> list[str]:
    app.handle(RegisterCustomer("ACME", "Acme", actor="t"))
    return [app.handle(OpenRequest("ACME", "support", subject, actor=AGENT))
            for subject in ("first", "poison", "third")]


def references(views: ReadModels) -> list[str]:
    return [r["reference"] for r in views["inbox"].query(
        "SELECT reference FROM inbox ORDER BY reference")]


def test_a_poison_event_is_passed_over_recorded_and_the_view_goes_on(
    app: Ledgerdesk, views: ReadModels
) -> None:
    first, poison, third = open_three(app)
    inbox = views["inbox"]
    real_apply = inbox.view.apply_notification

    def choking(db: Db, event: Any, notification: Any) -> None:
        if getattr(event, "subject", None) == "poison":
            raise ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        real_apply(db, event, notification)

    inbox.view.apply_notification = choking  # type: ignore[method-assign]
    projector = views.projector("inbox")
    projector.catch_up()

    assert references(views) == [first, third]
    status = projector.status()
    assert status.lag == 0 and status.failures == 1
    (failure,) = inbox.failures()
    assert failure["topic"].endswith("ServiceRequest.Opened")
    assert "NUL" in failure["error"]
    # Later events keep flowing.
    fourth = app.handle(OpenRequest("ACME", "support", "fourth", actor=AGENT))
    projector.catch_up()
    assert references(views) == [first, third, fourth]

    # A rebuild tries the event again: once the cause is fixed, nothing is missing.
    inbox.view.apply_notification = real_apply  # type: ignore[method-assign]
    projector.rebuild()
    assert references(views) == [first, poison, third, fourth]
    assert projector.status().failures == 0 and inbox.failures() == []


def test_an_unavailable_database_is_not_a_poison_event(
    app: Ledgerdesk, views: ReadModels
) -> None:
    open_three(app)
    inbox = views["inbox"]
    real_apply = inbox.view.apply_notification
    outage = {"left": 3}

    def flaky(db: Db, event: Any, notification: Any) -> None:
        if outage["left"]:
            outage["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        real_apply(db, event, notification)

    inbox.view.apply_notification = flaky  # type: ignore[method-assign]
    projector = views.projector("inbox")
    for _ in range(3):
        with pytest.raises(OperationalError):
            projector.catch_up()
    assert projector.position() == 0  # nothing skipped while the store was away
    projector.catch_up()
    assert len(references(views)) == 3
    assert projector.status().failures == 0


def test_text_with_nul_is_refused_and_an_old_event_holding_it_stops_nothing(
    app: Ledgerdesk, views: ReadModels
) -> None:
    first, _, _ = open_three(app)
    with pytest.raises(InvalidInput) as refused:
        app.handle(OpenRequest("ACME", "support", "a\x00b", actor=AGENT))
    assert "subject" in refused.value.fields
    # An event stored before commands were checked: PostgreSQL cannot hold its
    # text in a view, SQLite can; on neither may it stop the views.
    request = app.service_request(first)
    request.add_note("before the fix\x00", [], actor=AGENT)
    app.save(request)
    last = app.handle(OpenRequest("ACME", "support", "after", actor=AGENT))
    for projector in views.projectors:
        projector.catch_up()
        assert projector.status().lag == 0
    assert last in references(views)


def test_a_batch_another_process_applied_first_is_not_an_error(
    store: Database, app: Ledgerdesk, views: ReadModels, tmp_path: Path
) -> None:
    """`serve` and a CLI export (or two serve processes) project the same view:
    the one that loses the race for a batch carries on from the winner's position."""
    open_three(app)
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "blobs",
                        secret_key="k")
    other = open_read_models(settings, app)
    try:
        mine, theirs = views.projector("inbox"), other.projector("inbox")
        real_write = mine.storage.write

        def overtaken(application_name: str, batch: Any) -> None:
            theirs.catch_up()  # the other process commits this very batch first
            real_write(application_name, batch)

        mine.storage.write = overtaken  # type: ignore[method-assign]
        mine.catch_up()
        assert mine.status().lag == 0 and mine.status().failures == 0
        assert len(references(views)) == 3
    finally:
        other.close()
