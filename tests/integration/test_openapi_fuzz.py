"""Property-based fuzzing of /api/v1 against its own OpenAPI document (issue 9,
item 14), with schemathesis, on both stores.

Every operation is exercised with the document's examples, its coverage cases
(each boundary and each way a value can be wrong, unexpected methods, missing
credentials) and a bounded number of generated cases, valid and invalid, as an
admin.  Every check runs: no 5xx, only documented status codes, content types,
headers and response shapes, valid data accepted and invalid data refused,
405 with Allow, 401 without credentials.  The seed is fixed so a run can be
repeated; LEDGERDESK_FUZZ_SEED picks another.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import schemathesis
from schemathesis import Case, GenerationMode, HookContext, engine
from schemathesis.engine import Status
from schemathesis.engine.events import FatalError, NonFatalError, ScenarioFinished
from starlette.applications import Starlette

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.knowledge.content import STATEMENTS_BY_KIND
from domain.users.commands import AddUser, IssueToken
from ledgerdesk import demo
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.registry import open_read_models
from read_api.openapi import OPENAPI

ADMIN = "admin@ledgerdesk.example"
# Commands only a customer gives (a rating, a follow-up) run as a customer made
# for that, of an organisation the run never erases (erasure signs its people out).
CUSTOMER = "fuzz-customer@rater.example"
CUSTOMER_ONLY = "^/service-requests/[^/]+/(satisfaction|follow-ups)$"
TARGET = "fuzz-target@ledgerdesk.example"
# Generated cases per operation: about 460 generated requests in all, besides
# the document's examples and some 1,000 coverage cases; about 20 s per store.
MAX_EXAMPLES = 25
# Valid data may still be refused for what no schema states: a request in the
# wrong state (422), a unique value taken (409), a customer or user that does
# not exist (404).  Not 401 or 403: the admin may do everything, and a token
# the run itself revoked must show up as a failure, not hide every later one.
ACCEPTED = ["2xx", "404", "409", "422"]


def fuzz_config(token: str, customer_token: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": int(os.environ.get("LEDGERDESK_FUZZ_SEED", "20261123")),
        "headers": {"Authorization": f"Bearer {token}"},
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
        "operations": [
            # Accounts are deactivated and tokens revoked on one account made for
            # that, never on the admin the run is signed in as.
            {"include-path-regex": "^/users/", "parameters": {"path.email": TARGET}},
            {"include-path-regex": CUSTOMER_ONLY,
             "headers": {"Authorization": f"Bearer {customer_token}"}},
        ],
    })


@pytest.fixture
def api_app(store: Database, app: Ledgerdesk,
            tmp_path: Path) -> Iterator[tuple[Starlette, str, str]]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b", secret_key="k")
    tokens = demo.load(app)
    app.handle(AddUser(TARGET, ["agent"], actor=ADMIN))
    app.handle(IssueToken(TARGET, actor=ADMIN))
    app.handle(RegisterCustomer("FUZZ-RATER", "Rater", actor=ADMIN))
    app.handle(AddUser(CUSTOMER, ["customer"], actor=ADMIN, customer_code="FUZZ-RATER"))
    tokens[CUSTOMER] = app.handle(IssueToken(CUSTOMER, actor=ADMIN))
    models = open_read_models(settings, app)
    for projector in models.projectors:
        projector.catch_up()
    yield create_app(app, models), tokens[ADMIN], tokens[CUSTOMER]
    models.close()


def test_every_operation_conforms_to_the_openapi_document(
    api_app: tuple[Starlette, str, str],
) -> None:
    asgi, token, customer_token = api_app
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", asgi,
                                            config=fuzz_config(token, customer_token))
    schema.hook("filter_case")(follows_the_rules_between_fields)
    problems: list[str] = []
    tested: set[str] = set()
    # The engine is what the command line runs: every phase, every check.
    # (schemathesis' pytest plugin cannot load a schema from a fixture under
    # pytest 9.)
    for event in engine.from_schema(schema).execute():
        if isinstance(event, ScenarioFinished) and event.label:
            tested.add(event.label)
            problems.extend(failures_of(event))
        elif isinstance(event, NonFatalError | FatalError):
            problems.append(f"{getattr(event, 'label', '')}: {event_error(event)!r}")
    # schemathesis does not fuzz the document it was given.
    operations = {f"{method.upper()} {path}" for path, item in OPENAPI["paths"].items()
                  for method in item if path != "/openapi.json"}
    assert operations <= tested, sorted(operations - tested)
    assert not problems, "\n\n".join(sorted(set(problems)))


def follows_the_rules_between_fields(context: HookContext, case: Case) -> bool:
    """Valid data by the document may still break a rule between fields, which
    OpenAPI cannot state (the operations' summaries do): such a case is not
    sent as valid data.  Invalid data is sent whatever it holds."""
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return True
    query = dict(case.query or {})
    if case.operation.path == "/audit":  # exactly one of customer and request
        return sum(bool(query.get(name)) for name in ("customer", "request")) == 1
    if case.operation.path == "/inbox":  # a cursor is valid only if the API gave it out
        return not query.get("cursor")
    if case.operation.path.startswith("/kb/") and isinstance(case.body, dict):
        return statements_fit_the_kind(case.operation.path, case.body)
    if case.operation.path == "/calls" and isinstance(case.body, dict):
        started, ended = case.body.get("started_at"), case.body.get("ended_at")
        return not (isinstance(started, str) and isinstance(ended, str)
                    and moment(ended) < moment(started))
    return True


def statements_fit_the_kind(path: str, body: dict[str, object]) -> bool:
    """An article kind takes some statement kinds (domain.knowledge.content);
    an edit without `kind` keeps the article's, which only `note` fits for sure,
    and an edit changing only `kind` may not fit the statements it has."""
    kind, statements = body.get("kind"), body.get("statements")
    if kind is not None and statements is None and not path.startswith("/kb/drafts"):
        return False
    allowed = set(STATEMENTS_BY_KIND[kind][0]) if isinstance(kind, str) else {"note"}
    return all(s.get("kind") in allowed for s in statements or () if isinstance(s, dict))


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.upper())


def failures_of(event: ScenarioFinished) -> list[str]:
    found = []
    for case_id, nodes in event.recorder.checks.items():
        for node in nodes:
            if node.status == Status.FAILURE and node.failure_info is not None:
                interaction = event.recorder.interactions.get(case_id)
                status = interaction.response.status_code if interaction and \
                    interaction.response else None
                found.append(f"{event.label} [{node.name}, got {status}]: "
                             f"{node.failure_info.failure.title}\n"
                             f"{node.failure_info.failure.message}\n"
                             f"{node.failure_info.code_sample}")
    return found


def event_error(event: NonFatalError | FatalError) -> BaseException:
    return event.value if isinstance(event, NonFatalError) else event.exception
