"""Knowledge authoring in a real browser against a real desk (see conftest.py): an agent
writes a draft and submits it, a manager approves it from the review queue, a customer reads
it in the portal (issue 15 item 9).  Screenshots of each page in both languages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .conftest import CUSTOMER_CODE, PASSWORD, Desk, screenshot, sign_in

AUTHOR = ("kb.author@desk.example", "刘洋")
REVIEWER = ("kb.manager@desk.example", "陈静")
READER = ("kb.reader@huaxin.example.cn", "周敏")
TITLE = "CH500 冷水机组低压报警 LP 的处理"


@pytest.fixture(scope="module", autouse=True)
def people(desk: Desk) -> None:
    for (email, name), role in ((AUTHOR, "agent"), (REVIEWER, "manager"), (READER, "customer")):
        extra = ["--customer", CUSTOMER_CODE] if role == "customer" else []
        desk.cli("user", "add", email, "--role", role, "--name", name, *extra,
                 "--password-stdin", stdin=PASSWORD + "\n")


def signed_in(new_context: Callable[[], BrowserContext], email: str, lang: str) -> Page:
    page = new_context().new_page()
    sign_in(page, email, lang=lang)
    return page


def both_languages(page: Page, path: str, name: str) -> None:
    """Screenshots of `path` in Chinese and in English (the page's own language last)."""
    for lang, suffix in (("zh-CN", "zh"), ("en", "en")):
        page.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        screenshot(page, f"{name}-{suffix}")


def test_write_review_publish_read(desk: Desk, new_context: Callable[[], BrowserContext]) -> None:
    author = signed_in(new_context, AUTHOR[0], "en")
    author.goto("/console")
    author.click('nav.queues a[data-queue="kb"]')
    expect(author).to_have_url(f"{desk.base_url}/console/kb")
    author.click('a[data-action="new-article"]')
    author.fill('input[name="title"]', TITLE)
    author.select_option('select[name="kind"]', "countermeasure")
    author.fill('input[name="product"]', "CH500")
    author.fill('input[name="tags"]', "报警, LP")
    for row, (kind, text) in enumerate((("symptom", "机组停机，面板显示低压报警 LP"),
                                        ("cause", "制冷剂不足或膨胀阀堵塞"),
                                        ("solution", "检漏并补充制冷剂至额定压力"))):
        author.select_option(f'select[name="kind_{row}"]', kind)
        author.fill(f'input[name="text_{row}"]', text)
    with author.expect_navigation():
        author.click('form.kb-editor button[value="save"]')
    article_id = author.url.split("/")[-2]
    assert article_id.startswith("KB-"), author.url
    # One more statement in a blank row, then save and submit.
    author.fill('input[name="text_3"]', "复位报警后观察运行 30 分钟")
    author.select_option('select[name="kind_3"]', "solution")
    both_languages(author, f"/console/kb/{article_id}/edit", "kb-editor")
    author.fill('input[name="text_3"]', "复位报警后观察运行 30 分钟")
    author.select_option('select[name="kind_3"]', "solution")
    with author.expect_navigation():
        author.click('button[data-action="save-and-submit"]')
    expect(author.locator("main[data-status]")).to_have_attribute("data-status", "in_review")
    expect(author.locator('form[data-action="approve-article"]')).to_have_count(0)

    reviewer = signed_in(new_context, REVIEWER[0], "zh-CN")
    reviewer.goto("/console/kb/review")
    row = reviewer.locator(f'tr[data-article="{article_id}"]')
    expect(row).to_be_visible()
    both_languages(reviewer, "/console/kb/review", "kb-review-queue")
    reviewer.click(f'tr[data-article="{article_id}"] a')
    with reviewer.expect_navigation():
        reviewer.click('form[data-action="approve-article"] button')
    expect(reviewer.locator("main[data-status]")).to_have_attribute("data-status", "published")
    expect(reviewer.locator('li[data-action="published"]')).to_have_count(1)
    both_languages(reviewer, f"/console/kb/{article_id}", "kb-article")
    both_languages(reviewer, "/console/kb", "kb-list")

    reader = signed_in(new_context, READER[0], "zh-CN")
    reader.goto("/portal/kb?q=低压报警")
    reader.click(f'article[data-article="{article_id}"] a')
    expect(reader.locator("h1")).to_have_text(TITLE)
    expect(reader.locator('tr[data-statement="cause"]')).to_contain_text("制冷剂不足")
    expect(reader.locator('tr[data-statement="solution"]')).to_have_count(2)
    both_languages(reader, f"/portal/kb/{article_id}", "kb-portal-article")
