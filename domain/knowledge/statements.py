"""Statements for 请求的知识化: what a resolved request teaches, as short lines."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from domain.aggregates.service_request import ServiceRequest
from domain.knowledge.content import MAX_STATEMENT, MAX_STATEMENTS, Statement

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# The event classes made by @event are invisible to mypy outside a decorator.
_SR: Any = ServiceRequest

# Lines of a customer's message that repeat older mail rather than describe the problem.
_QUOTE_PREFIXES = (">", "-----")
MAX_MESSAGE_LINES = 20
# What the customer reported and what solved it, as statements of an article kind.
ROLES = {"faq": ("question", "answer"), "product": ("fact", "fact")}
DEFAULT_ROLES = ("symptom", "solution")


def request_statements(request: ServiceRequest, events: Iterable[Any],
                       kind: str = "case") -> list[Statement]:
    """Subject, description and the customer's messages as symptoms, then the
    latest resolution as the solution (a request reopened and resolved again
    was solved by the last one); each cut to a statement's length, as many as
    an article holds, the solution always among them."""
    problem_role, solution_role = ROLES.get(kind, DEFAULT_ROLES)
    problem: list[str] = [request.subject, request.description]
    resolution = ""
    for e in events:
        if isinstance(e, _SR.MessageReceived):
            problem.append(_message_lines(e.body))
        elif isinstance(e, _SR.Resolved):
            resolution = e.resolution or ""
    solution = _distinct_lines([resolution])[:MAX_STATEMENTS // 2]
    reported = [line for line in _distinct_lines(problem) if line not in solution]
    return ([{"kind": problem_role, "text": _short(line)}
             for line in reported[:MAX_STATEMENTS - len(solution)]]
            + [{"kind": solution_role, "text": _short(line)} for line in solution])


def _short(line: str) -> str:
    return line if len(line) <= MAX_STATEMENT else line[:MAX_STATEMENT - 1] + "…"


def guess_language(text: str) -> str:
    """Any Chinese at all makes it a Chinese article: these are bilingual
    notes where Chinese carries the meaning and English names the parts."""
    return "zh" if _HAN.search(text) else "en"


def _message_lines(body: str) -> str:
    kept = [
        line for line in (body or "").splitlines()
        if not line.strip().startswith(_QUOTE_PREFIXES)
    ]
    return "\n".join(kept[:MAX_MESSAGE_LINES])


def _distinct_lines(texts: Iterable[str]) -> list[str]:
    """Mail repeats itself (the description is often the first message too)."""
    seen: dict[str, None] = {}
    for text in texts:
        for line in (text or "").splitlines():
            line = " ".join(line.split())
            if line:
                seen.setdefault(line, None)
    return list(seen)
