"""Knowledge authoring on SQLite and PostgreSQL: the article's state machine,
typed statements, and articles stored before the workflow existed."""

from __future__ import annotations

from uuid import uuid5

import pytest
from eventsourcing.persistence import StoredEvent

from domain import ids
from domain.application import Ledgerdesk
from domain.errors import InvalidInput, InvalidTransition, PermissionDenied
from domain.knowledge.commands import (
    ApproveArticle,
    DraftArticle,
    EditDraft,
    RetireArticle,
    ReviseArticle,
    SendBackArticle,
    SubmitArticle,
)

AGENT, MANAGER, OTHER = "agent@desk.cn", "manager@desk.cn", "boss@desk.cn"
SYMPTOM = {"kind": "symptom", "text": "打印机卡纸"}
SOLUTION = {"kind": "solution", "text": "更换搓纸轮"}

# What the code of before the authoring workflow stored for one article:
# published, revised in place, retired (topics and states byte for byte).
LEGACY = [
    ("domain.aggregates.knowledge:KnowledgeArticle.Published",
     '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-04T18:06:42.881530+00:00"},'
     '"originator_topic":"domain.aggregates.knowledge:KnowledgeArticle","article_id":"KB-0007",'
     '"title":"打印机卡纸","body":"打开前盖\\n取出纸张","kind":"solution","product":"LJ-1020",'
     '"tags":["打印机"],"language":"zh","source_reference":null,"actor":"agent@desk.cn"}'),
    ("domain.aggregates.knowledge:KnowledgeArticle.Revised",
     '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-04T18:06:42.882460+00:00"},'
     '"title":"打印机卡纸","body":"打开前盖\\n取出卡住的纸张\\n检查搓纸轮","tags":["打印机"],'
     '"actor":"agent@desk.cn"}'),
    ("domain.aggregates.knowledge:KnowledgeArticle.Retired",
     '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-04T18:06:42.883082+00:00"},'
     '"reason":"被 KB-0008 取代","actor":"manager@desk.cn"}'),
]


def store_legacy(app: Ledgerdesk, upto: int) -> None:
    originator = uuid5(ids.NAMESPACE, "knowledge:KB-0007")
    app.recorder.insert_events([
        StoredEvent(originator_id=originator, originator_version=version, topic=topic,
                    state=state.encode())
        for version, (topic, state) in enumerate(LEGACY[:upto], 1)
    ])


def draft(app: Ledgerdesk, *statements: dict[str, str], kind: str = "solution") -> str:
    return str(app.handle(DraftArticle("打印机卡纸的处理", kind, AGENT, statements=statements)))


def published(app: Ledgerdesk) -> str:
    article_id = draft(app, SYMPTOM, SOLUTION)
    app.handle(SubmitArticle(article_id, AGENT))
    app.handle(ApproveArticle(article_id, MANAGER))
    return article_id


def test_legacy_article_still_reads_and_can_be_revised(app: Ledgerdesk) -> None:
    store_legacy(app, upto=2)
    article = app.article("KB-0007")
    assert (article.status, article.revision, article.title, article.kind) == (
        "published", 2, "打印机卡纸", "solution")
    assert article.statements == [{"kind": "note", "text": line}
                                  for line in ("打开前盖", "取出卡住的纸张", "检查搓纸轮")]
    assert [r["revision"] for r in article.revisions] == [1, 2]
    # Its next revision goes through review; notes must be given their roles first.
    app.handle(ReviseArticle("KB-0007", AGENT))
    with pytest.raises(InvalidTransition, match="symptom, solution"):
        app.handle(SubmitArticle("KB-0007", AGENT))
    app.handle(EditDraft("KB-0007", AGENT, statements=[SYMPTOM, SOLUTION]))
    app.handle(SubmitArticle("KB-0007", AGENT))
    app.handle(ApproveArticle("KB-0007", MANAGER))
    assert (app.article("KB-0007").revision, app.article("KB-0007").status) == (3, "published")


def test_legacy_retired_article_reads_as_retired(app: Ledgerdesk) -> None:
    store_legacy(app, upto=3)
    article = app.article("KB-0007")
    assert (article.status, article.published) == ("retired", None)
    with pytest.raises(InvalidTransition, match="retired"):
        app.handle(ReviseArticle("KB-0007", AGENT, title="x"))


def test_draft_review_publish_revise(app: Ledgerdesk) -> None:
    article_id = draft(app, SYMPTOM)
    assert article_id == "KB-0001"
    app.handle(EditDraft(article_id, AGENT, statements=[SYMPTOM, SOLUTION]))
    app.handle(SubmitArticle(article_id, AGENT))
    app.handle(SendBackArticle(article_id, "写清楚是哪个搓纸轮", MANAGER))
    article = app.article(article_id)
    assert (article.status, article.sent_back_because) == ("draft", "写清楚是哪个搓纸轮")
    app.handle(EditDraft(article_id, AGENT, statements=[
        SYMPTOM, {"kind": "cause", "text": "搓纸轮磨损"}, SOLUTION]))
    app.handle(SubmitArticle(article_id, AGENT))
    assert app.handle(ApproveArticle(article_id, MANAGER)) == 1
    app.handle(ReviseArticle(article_id, AGENT, title="打印机卡纸（修订）"))
    article = app.article(article_id)
    assert (article.status, article.revision) == ("draft", 1)
    assert article.published is not None and article.published["title"] == "打印机卡纸的处理"
    app.handle(SubmitArticle(article_id, AGENT))
    assert app.handle(ApproveArticle(article_id, OTHER)) == 2
    assert [r["title"] for r in app.article(article_id).revisions] == [
        "打印机卡纸的处理", "打印机卡纸（修订）"]


def test_every_refused_step(app: Ledgerdesk) -> None:
    article_id = draft(app, SYMPTOM)
    with pytest.raises(InvalidTransition, match="submit it for review"):
        app.handle(ApproveArticle(article_id, MANAGER))
    with pytest.raises(InvalidTransition, match="solution"):
        app.handle(SubmitArticle(article_id, AGENT))  # a solution needs a solution
    with pytest.raises(InvalidTransition):
        app.handle(SendBackArticle(article_id, "why", MANAGER))
    with pytest.raises(InvalidTransition):
        app.handle(ReviseArticle(article_id, AGENT, title="x"))  # not published yet
    app.handle(EditDraft(article_id, AGENT, statements=[SYMPTOM, SOLUTION]))
    app.handle(SubmitArticle(article_id, AGENT))
    with pytest.raises(InvalidTransition, match="send it back"):
        app.handle(EditDraft(article_id, AGENT, title="x"))
    with pytest.raises(InvalidTransition):
        app.handle(SubmitArticle(article_id, AGENT))
    with pytest.raises(PermissionDenied, match="second person"):
        app.handle(ApproveArticle(article_id, AGENT))
    with pytest.raises(InvalidInput):
        app.handle(SendBackArticle(article_id, "  ", MANAGER))
    app.handle(ApproveArticle(article_id, MANAGER))
    with pytest.raises(InvalidTransition):
        app.handle(ApproveArticle(article_id, MANAGER))
    with pytest.raises(InvalidTransition, match="start a revision"):
        app.handle(EditDraft(article_id, AGENT, title="x"))
    app.handle(ReviseArticle(article_id, AGENT))
    with pytest.raises(InvalidTransition, match="nothing changed"):
        app.handle(SubmitArticle(article_id, AGENT))
    app.handle(RetireArticle(article_id, "产品停产", MANAGER))
    for refused in (EditDraft(article_id, AGENT, title="x"), SubmitArticle(article_id, AGENT),
                    ReviseArticle(article_id, AGENT), RetireArticle(article_id, "x", MANAGER)):
        with pytest.raises(InvalidTransition, match="retired"):
            app.handle(refused)


@pytest.mark.parametrize(("statements", "kind", "message"), [
    ([{"kind": "answer", "text": "x"}], "solution", "takes statements of kind"),
    ([{"kind": "symptom", "text": "x" * 501}], "solution", "longer than 500"),
    ([{"kind": "symptom", "text": "x"}] * 41, "solution", "at most 40"),
    ([{"kind": "symptom", "text": "卡\x00纸"}], "solution", "control character"),
    (["just text"], "solution", "must be an object"),
    ([{"kind": "symptom", "text": "x"}], "rumour", "kind must be one of"),
])
def test_statements_are_checked(app: Ledgerdesk, statements: list[dict[str, str]], kind: str,
                                message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        app.handle(DraftArticle("标题", kind, AGENT, statements=statements))
    # Nothing was written, and no article number was used up.
    assert draft(app, SYMPTOM) == "KB-0001"


def test_faq_takes_questions_and_answers(app: Ledgerdesk) -> None:
    article_id = draft(app, {"kind": "question", "text": "如何清洁打印头？"},
                       {"kind": "answer", "text": "用软布蘸酒精擦拭"}, kind="faq")
    app.handle(SubmitArticle(article_id, AGENT))
    app.handle(ApproveArticle(article_id, MANAGER))
    assert app.article(article_id).published is not None


def test_a_stale_version_is_a_conflict(app: Ledgerdesk) -> None:
    from domain.errors import ConcurrentChange

    article_id = draft(app, SYMPTOM)
    with pytest.raises(ConcurrentChange):
        app.handle(EditDraft(article_id, AGENT, title="新", expected_version=7))
    assert app.handle(EditDraft(article_id, AGENT, title="新", expected_version=1)) is True
    assert app.handle(EditDraft(article_id, AGENT, title="新")) is False  # no change, no event
