"""The knowledge base: commands, the read model and search, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.postgres import PostgresDatastore

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.errors import AlreadyExists, InvalidInput, InvalidTransition, NotFound
from domain.knowledge.commands import (
    ApproveArticle,
    ArticleFromRequest,
    PublishArticle,
    RetireArticle,
    ReviseArticle,
    SubmitArticle,
)
from domain.requests.commands import ChangeStatus, InboundMessage, OpenRequest, RecordInbound
from ledgerdesk.config import Database
from projections.knowledge import KnowledgeView, article, search
from projections.runner import Projector
from projections.storage import PostgresViewStorage, SQLiteViewStorage, ViewStorage

AGENT = "agent@desk.cn"
MANAGER = "manager@desk.cn"


@pytest.fixture
def kb(app: Ledgerdesk) -> Ledgerdesk:
    """The application of tests/conftest.py, on each store."""
    return app


@pytest.fixture
def storage(store: Database, tmp_path: Path) -> Iterator[ViewStorage]:
    if store.kind == "sqlite":
        sqlite_storage = SQLiteViewStorage(tmp_path / "knowledge.db", KnowledgeView())
        yield sqlite_storage
        sqlite_storage.close()
        return
    datastore = PostgresDatastore(
        dbname=store.name,
        host=store.host,
        port=store.port,
        user=store.user,
        password=store.password,
    )
    yield PostgresViewStorage(datastore, KnowledgeView())
    datastore.close()


def find(
    kb: Ledgerdesk, storage: ViewStorage, query: str, limit: int = 10, kind: str | None = None
) -> list[str]:
    Projector(kb, storage).catch_up()
    return [hit["article_id"] for hit in search(storage, query, limit, kind)]


def publish_printer_articles(kb: Ledgerdesk) -> None:
    kb.handle(PublishArticle(
        "KB-0001",
        "打印机卡纸的处理",
        "打开前盖取出卡住的纸张\n检查搓纸轮是否磨损",
        kind="solution",
        actor=AGENT,
        product="LJ-1020",
        tags=["打印机"],
    ))
    kb.handle(PublishArticle(
        "KB-0002",
        "打印机日常维护",
        "定期清洁打印头\n卡纸多发时更换搓纸轮\n使用推荐纸张",
        kind="faq",
        actor=AGENT,
    ))
    kb.handle(PublishArticle(
        "KB-0003",
        "Paper jam in the rear tray",
        "Open the rear door\nPull the jammed paper out",
        kind="solution",
        actor=AGENT,
        language="en",
    ))
    kb.handle(PublishArticle(
        "KB-0004",
        "复印机不出纸",
        "检查纸盒是否放好\n更换进纸辊",
        kind="case",
        actor=AGENT,
    ))


# --- commands -----------------------------------------------------------------


def test_publish_then_read_back(kb: Ledgerdesk) -> None:
    article_id = kb.handle(PublishArticle(
        "KB-0001",
        " 打印机卡纸 ",
        "第一步\n\n  第二步  ",
        kind="solution",
        actor=AGENT,
        product="LJ-1020",
        tags=["打印机", "打印机", "卡纸"],
    ))
    found = kb.article(article_id)
    assert (found.title, found.body.splitlines(), found.tags) == (
        "打印机卡纸",
        ["第一步", "第二步"],
        ["打印机", "卡纸"],
    )
    assert (found.kind, found.product, found.language, found.status) == (
        "solution",
        "LJ-1020",
        "zh",
        "published",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"article_id": "0001"}, "article_id"),
        ({"title": "  "}, "title"),
        ({"body": "\n \n"}, "body"),
        ({"kind": "rumour"}, "kind"),
        ({"language": "fr"}, "language"),
        ({"tags": ["x" * 41]}, "tags"),
    ],
)
def test_publish_refuses_bad_input(kb: Ledgerdesk, changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "article_id": "KB-0001",
        "title": "标题",
        "body": "内容",
        "kind": "faq",
        "actor": AGENT,
    }
    values.update(changes)
    with pytest.raises(InvalidInput) as refused:
        kb.handle(PublishArticle(**values))  # type: ignore[arg-type]
    assert field in refused.value.fields


def test_duplicate_article_id_is_refused(kb: Ledgerdesk) -> None:
    kb.handle(PublishArticle("KB-0001", "标题", "内容", kind="faq", actor=AGENT))
    with pytest.raises(AlreadyExists):
        kb.handle(PublishArticle("KB-0001", "另一个", "内容", kind="faq", actor=AGENT))
    assert kb.article("KB-0001").title == "标题"


def test_revise_and_retire_refusals(kb: Ledgerdesk) -> None:
    with pytest.raises(NotFound):
        kb.handle(ReviseArticle("KB-0404", AGENT, title="x"))
    with pytest.raises(NotFound):
        kb.handle(RetireArticle("KB-0404", "过时", AGENT))
    kb.handle(PublishArticle("KB-0001", "标题", "内容", kind="faq", actor=AGENT))
    with pytest.raises(InvalidInput):
        kb.handle(ReviseArticle("KB-0001", AGENT, title=" "))
    with pytest.raises(InvalidInput):
        kb.handle(RetireArticle("KB-0001", " ", AGENT))
    assert kb.article("KB-0001").version == 1  # a refused revision records nothing
    kb.handle(RetireArticle("KB-0001", "产品停产", AGENT))
    with pytest.raises(InvalidTransition):
        kb.handle(RetireArticle("KB-0001", "again", AGENT))
    with pytest.raises(InvalidTransition):
        kb.handle(ReviseArticle("KB-0001", AGENT, title="新标题"))
    names = [type(e).__name__ for e in kb.events.get(kb.article("KB-0001").id)]
    assert names == ["Published", "Retired"]


def publish_revision(kb: Ledgerdesk, article_id: str, **changes: object) -> None:
    """A revision through review: written by the agent, approved by a manager."""
    kb.handle(ReviseArticle(article_id, AGENT, **changes))  # type: ignore[arg-type]
    kb.handle(SubmitArticle(article_id, AGENT))
    kb.handle(ApproveArticle(article_id, MANAGER))


# --- search -------------------------------------------------------------------


def test_chinese_search_ranks_the_title_match_first(kb: Ledgerdesk, storage: ViewStorage) -> None:
    publish_printer_articles(kb)
    assert find(kb, storage, "卡纸") == ["KB-0001", "KB-0002"]
    assert find(kb, storage, "打印机 卡纸")[:2] == ["KB-0001", "KB-0002"]
    assert find(kb, storage, "打印机卡纸")[:2] == ["KB-0001", "KB-0002"]
    assert find(kb, storage, "卡纸", kind="faq") == ["KB-0002"]
    assert find(kb, storage, "卡纸", limit=1) == ["KB-0001"]


def test_search_result_shape_and_snippet(kb: Ledgerdesk, storage: ViewStorage) -> None:
    publish_printer_articles(kb)
    Projector(kb, storage).catch_up()
    hits = search(storage, "搓纸轮")
    assert [h["article_id"] for h in hits] == ["KB-0001", "KB-0002"]
    first = hits[0]
    assert set(first) == {"article_id", "title", "kind", "product", "snippet", "score"}
    assert (first["title"], first["kind"], first["product"]) == (
        "打印机卡纸的处理",
        "solution",
        "LJ-1020",
    )
    assert first["snippet"] == "检查搓纸轮是否磨损"
    assert hits[1]["snippet"] == "卡纸多发时更换搓纸轮"
    assert isinstance(first["score"], float) and first["score"] >= hits[1]["score"] > 0


def test_english_search(kb: Ledgerdesk, storage: ViewStorage) -> None:
    publish_printer_articles(kb)
    assert find(kb, storage, "paper jam") == ["KB-0003"]
    assert find(kb, storage, "ＰＡＰＥＲ　ＪＡＭ") == ["KB-0003"]  # full-width input
    assert find(kb, storage, "the") == []  # stop words alone match nothing
    assert find(kb, storage, "toner") == []


def test_blank_query_is_refused(kb: Ledgerdesk, storage: ViewStorage) -> None:
    with pytest.raises(InvalidInput) as refused:
        search(storage, "  ")
    assert "q" in refused.value.fields


def test_retired_articles_disappear(kb: Ledgerdesk, storage: ViewStorage) -> None:
    publish_printer_articles(kb)
    assert find(kb, storage, "卡纸") == ["KB-0001", "KB-0002"]
    kb.handle(RetireArticle("KB-0001", "被 KB-0002 取代", AGENT))
    assert find(kb, storage, "卡纸") == ["KB-0002"]
    row = article(storage, "KB-0001")
    assert row is not None and row["status"] == "retired"


def test_revising_updates_the_index(kb: Ledgerdesk, storage: ViewStorage) -> None:
    publish_printer_articles(kb)
    assert find(kb, storage, "墨粉") == []
    kb.handle(ReviseArticle("KB-0004", AGENT, title="复印机墨粉不足", tags=["耗材"],
                            statements=[{"kind": "symptom", "text": "复印件发白"},
                                        {"kind": "solution", "text": "更换墨粉盒"}]))
    assert find(kb, storage, "墨粉") == []  # a revision in draft is not what readers see
    kb.handle(SubmitArticle("KB-0004", AGENT))
    kb.handle(ApproveArticle("KB-0004", MANAGER))
    assert find(kb, storage, "墨粉") == ["KB-0004"]
    assert find(kb, storage, "进纸辊") == []  # the old body is no longer indexed
    assert find(kb, storage, "耗材") == ["KB-0004"]  # tags are searchable
    row = article(storage, "KB-0004")
    assert row is not None and row["tags"] == ["耗材"] and row["body"] == "复印件发白\n更换墨粉盒"
    assert row["revision"] == 2


def test_rebuild_gives_the_same_results(kb: Ledgerdesk, storage: ViewStorage) -> None:
    publish_printer_articles(kb)
    publish_revision(kb, "KB-0002", statements=[
        {"kind": "question", "text": "打印机如何维护？"},
        {"kind": "answer", "text": "定期清洁打印头"}, {"kind": "answer", "text": "卡纸时检查纸张"}])
    kb.handle(RetireArticle("KB-0004", "重复", AGENT))
    projector = Projector(kb, storage)
    projector.catch_up()
    queries = ["卡纸", "打印机 卡纸", "paper jam", "纸张", "进纸辊"]
    before = [search(storage, q) for q in queries]
    assert projector.rebuild() == kb.recorder.max_notification_id()
    assert [search(storage, q) for q in queries] == before


# --- 请求的知识化 -----------------------------------------------------------------


@pytest.fixture
def resolved_request(kb: Ledgerdesk) -> str:
    kb.handle(RegisterCustomer("ACME", "艾克美", actor="admin",
                               identities=[("email", "li@acme.cn")]))
    reference = kb.handle(OpenRequest(
        "ACME",
        "repair",
        "激光打印机频繁卡纸",
        actor=AGENT,
        description="每打印十页左右卡纸一次",
        product="LJ-1020",
    ))
    kb.handle(RecordInbound(
        InboundMessage(
            channel="email",
            external_id="<m1@acme.cn>",
            sender="li@acme.cn",
            subject=f"Re: [{reference}]",
            body="今天又卡纸了\n> 之前的邮件内容",
            reference=reference,
        )
    ))
    kb.handle(ChangeStatus(reference, "resolved", actor=AGENT, reason="更换搓纸轮后恢复正常"))
    return reference


def test_article_from_a_resolved_request(
    kb: Ledgerdesk, storage: ViewStorage, resolved_request: str
) -> None:
    article_id = kb.handle(ArticleFromRequest(resolved_request, AGENT, "激光打印机卡纸",
                                              "KB-0100"))
    made = kb.article(article_id)
    assert made.statements == [
        {"kind": "symptom", "text": "激光打印机频繁卡纸"},
        {"kind": "symptom", "text": "每打印十页左右卡纸一次"},
        {"kind": "symptom", "text": "今天又卡纸了"},
        {"kind": "solution", "text": "更换搓纸轮后恢复正常"},
    ]
    assert (made.status, made.kind, made.product, made.language, made.source_reference) == (
        "draft",
        "case",
        "LJ-1020",
        "zh",
        resolved_request,
    )
    assert search_after_catch_up(kb, storage, "搓纸轮") == []  # a draft is not found
    kb.handle(SubmitArticle(article_id, AGENT))
    kb.handle(ApproveArticle(article_id, MANAGER))
    hits = search_after_catch_up(kb, storage, "搓纸轮")
    assert [(h["article_id"], h["snippet"]) for h in hits] == [("KB-0100", "更换搓纸轮后恢复正常")]
    with pytest.raises(AlreadyExists):
        kb.handle(ArticleFromRequest(resolved_request, AGENT, "再来一次", "KB-0100"))


def test_only_finished_requests_become_articles(kb: Ledgerdesk, resolved_request: str) -> None:
    kb.handle(ChangeStatus(resolved_request, "open", actor=AGENT, reason="客户反馈仍卡纸"))
    with pytest.raises(InvalidTransition):
        kb.handle(ArticleFromRequest(resolved_request, AGENT, "激光打印机卡纸"))
    with pytest.raises(NotFound):
        kb.handle(ArticleFromRequest("SR-999999", AGENT, "不存在"))


def search_after_catch_up(
    kb: Ledgerdesk, storage: ViewStorage, query: str
) -> list[dict[str, object]]:
    Projector(kb, storage).catch_up()
    return search(storage, query)


def test_sqlite_without_ln_ranks_the_same(
    kb: Ledgerdesk, storage: ViewStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite builds without math functions compute idf in Python instead."""
    import projections.knowledge

    publish_printer_articles(kb)
    Projector(kb, storage).catch_up()
    queries = ["卡纸", "打印机 卡纸", "paper jam", "toner"]
    with_ln = [search(storage, q) for q in queries]
    monkeypatch.setattr(projections.knowledge, "SQLITE_HAS_LN", False)
    assert [search(storage, q) for q in queries] == with_ln
