"""Web chat: the portal's chat panel for signed-in customers, and the widget a
company embeds on its own website for visitors who are not signed in.

Every message is a `chat` interaction recorded with RecordInbound, idempotent
by a message id the browser makes before sending: a resend after a dropped
connection records once.  A conversation is one request: the first message
opens it (or joins a signed-in customer's open chat), later ones name it.
The reference a browser may write to is never taken from the browser as it
is: the portal keeps it in the signed session, the widget in a token signed
with the server's secret, so nobody adds messages to someone else's request.

Live: the page listens to /live (portal) or /chat/widget/events (widget) and
fetches its conversation again when the projections move; fetching also tells
the delivery side the customer is there (projections.chat_presence), so an
agent's reply is shown in the panel, or mailed once the customer has left.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from channels.web.labels import N_
from channels.web.live import LiveFeed
from channels.web.pages import checked_form, page, render, see_other, web_of
from channels.web.sessions import SessionUser
from domain import ids
from domain.access import Principal
from domain.errors import DomainError, NotFound, invalid
from domain.requests.commands import InboundMessage, RecordInbound
from domain.vocabulary import OPEN_STATUSES
from projections import queries

MESSAGE_MAX = 4000
TOKEN_AGE = 7 * 24 * 3600  # a visitor's conversation is theirs for a week
# Anonymous visitors: at most this many messages per window, per visitor.
VISITOR_LIMIT, VISITOR_WINDOW = 20, 60.0
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# The widget is made to be framed by other sites; everything else stays as strict.
WIDGET_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors *")


def chat_routes(feed: LiveFeed) -> list[BaseRoute]:
    widget = Widget(feed)
    return [
        page("/portal/chat", portal_chat, "use_portal"),
        page("/portal/chat/messages", portal_message, "follow_up", methods=("POST",)),
        Route("/chat/widget", widget.page, methods=["GET"]),
        Route("/chat/widget/start", widget.start, methods=["POST"]),
        Route("/chat/widget/messages", widget.message, methods=["POST"]),
        Route("/chat/widget/conversation", widget.conversation, methods=["GET"]),
        Route("/chat/widget/events", widget.events, methods=["GET"]),
    ]


def message_text(raw: Any) -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise invalid("message", "type a message")
    if len(text) > MESSAGE_MAX:
        raise invalid("message", f"a message is at most {MESSAGE_MAX} characters")
    return text


def client_id_of(raw: Any) -> str:
    """The browser's id for this message: a resend carries the same one."""
    value = raw if isinstance(raw, str) else ""
    return value if CLIENT_ID.fullmatch(value) else uuid.uuid4().hex


async def conversation_of(request: Request, who: Principal, reference: str | None
                          ) -> dict[str, Any] | None:
    """The request as its customer sees it, with presence noted; None if none."""
    if not reference:
        return None
    web = web_of(request)
    try:
        found = await run_in_threadpool(queries.service_request, web.models, who, reference)
    except NotFound:
        return None
    if web.presence is not None:
        await run_in_threadpool(web.presence.seen, reference)
    # The first message opens the request and is recorded as a message too:
    # the conversation is the messages and the replies.
    found["entries"] = [e for e in found["timeline"] if e["kind"] in ("message", "reply")]
    return found


def _open_chat(request: Request, who: Principal) -> str | None:
    """The signed-in customer's conversation: the one this session started,
    while it is open (read from the request itself, not a lagging view).  Not
    the organisation's newest chat: colleagues share an organisation, not a
    conversation, so a new session starts a chat of its own."""
    web = web_of(request)
    kept = request.session.get("chat_ref")
    if not (isinstance(kept, str) and ids.REFERENCE_PATTERN.fullmatch(kept)):
        return None
    try:
        started = web.app.service_request(kept)
    except NotFound:
        return None
    if started.customer_code == who.customer_code and started.status in OPEN_STATUSES:
        return kept
    return None


async def portal_chat(request: Request, user: SessionUser) -> Response:
    reference = await run_in_threadpool(_open_chat, request, user.principal)
    chat = await conversation_of(request, user.principal, reference)
    template = "chat/conversation.html" if request.query_params.get("part") else \
        "chat/portal.html"
    return render(request, template, tab="chat", chat=chat, post_url="/portal/chat/messages",
                  live_url="/portal/chat?part=conversation", events_url="/live", token="")


async def portal_message(request: Request, user: SessionUser) -> Response:
    web = web_of(request)
    form = await checked_form(request)
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        reference = await run_in_threadpool(_open_chat, request, user.principal)
        recorded = await web.run(RecordInbound(InboundMessage(
            "chat", f"chat:{user.principal.email}:{client_id_of(form.get('client_id'))}",
            user.principal.email, message_text(form.get("message")), reference=reference,
            customer_code=user.principal.customer_code)))
    except DomainError as e:
        if wants_json:
            return JSONResponse({"error": e.message}, status_code=400)
        raise
    request.session["chat_ref"] = recorded.reference
    await web.settle()  # the conversation fetched next shows this message
    if wants_json:
        return JSONResponse({"reference": recorded.reference, "duplicate": recorded.duplicate})
    return see_other("/portal/chat")


class Widget:
    """The embeddable chat for visitors: who they are travels in a signed token."""

    def __init__(self, feed: LiveFeed) -> None:
        self.feed = feed
        self._recent: dict[str, deque[float]] = {}

    def _serializer(self, request: Request) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(web_of(request).secret_key, salt="ledgerdesk chat widget")

    def _visitor(self, request: Request, token: Any) -> dict[str, Any]:
        try:
            data = self._serializer(request).loads(str(token or ""), max_age=TOKEN_AGE)
        except BadSignature:
            raise NotFound("this chat has expired; start a new one") from None
        if not isinstance(data, dict) or not isinstance(data.get("v"), str):
            raise NotFound("this chat has expired; start a new one")
        return data

    def _token(self, request: Request, visitor: dict[str, Any]) -> str:
        return str(self._serializer(request).dumps(visitor))

    @staticmethod
    def _principal(visitor: dict[str, Any]) -> Principal:
        # Known by the address or number they gave, which their messages' actor
        # carries (`chat:<contact>`): the conversation shown is still only the one
        # their token names.
        return Principal(str(visitor["c"]), ("customer",), visitor.get("k"))

    def _answer(self, request: Request, template: str, status_code: int = 200,
                **context: Any) -> Response:
        response = render(request, template, status_code=status_code, **context)
        response.headers["Content-Security-Policy"] = WIDGET_CSP
        return response

    async def page(self, request: Request) -> Response:
        return self._answer(request, "chat/widget.html", chat=None, token="", errors={},
                            kept={}, post_url="/chat/widget/messages",
                            live_url="/chat/widget/conversation", events_url="")

    async def start(self, request: Request) -> Response:
        form = await request.form()
        name = str(form.get("name", "")).strip()[:100]
        contact = str(form.get("contact", "")).strip()[:200]
        errors = {}
        if not name:
            errors["name"] = N_("Please tell us your name.")
        if not contact or ("@" not in contact and not any(c.isdigit() for c in contact)):
            errors["contact"] = N_("An email address or a phone number, so we can answer.")
        if errors:
            return self._answer(request, "chat/widget.html", status_code=400, chat=None,
                                token="", errors=errors, kept={"name": name, "contact": contact},
                                post_url="/chat/widget/messages",
                                live_url="/chat/widget/conversation", events_url="")
        token = self._token(request, {"v": uuid.uuid4().hex, "n": name, "c": contact})
        return self._answer(request, "chat/widget.html", chat=None, token=token, errors={},
                            kept={}, post_url="/chat/widget/messages",
                            live_url="/chat/widget/conversation", events_url="")

    def _within_limit(self, visitor_id: str) -> bool:
        now = time.monotonic()
        recent = self._recent.setdefault(visitor_id, deque())
        while recent and now - recent[0] > VISITOR_WINDOW:
            recent.popleft()
        if len(recent) >= VISITOR_LIMIT:
            return False
        recent.append(now)
        return True

    async def message(self, request: Request) -> Response:
        form = await request.form()
        try:
            visitor = self._visitor(request, form.get("token"))
            if not self._within_limit(visitor["v"]):
                return JSONResponse({"error": "too many messages; wait a minute"},
                                    status_code=429)
            text = message_text(form.get("message"))
            recorded = await web_of(request).run(RecordInbound(InboundMessage(
                "chat", f"widget:{visitor['v']}:{client_id_of(form.get('client_id'))}",
                visitor["c"], text, sender_name=visitor["n"], reference=visitor.get("r"),
                details={"visitor": True})))
        except DomainError as e:
            return JSONResponse({"error": e.message}, status_code=404
                                if isinstance(e, NotFound) else 400)
        visitor = {**visitor, "r": recorded.reference, "k": recorded.customer_code}
        await web_of(request).settle()
        return JSONResponse({"token": self._token(request, visitor),
                             "reference": recorded.reference, "duplicate": recorded.duplicate})

    async def conversation(self, request: Request) -> Response:
        try:
            visitor = self._visitor(request, request.query_params.get("token"))
        except NotFound as e:
            return Response(e.message, status_code=404)
        reference = visitor.get("r")
        if reference and not ids.REFERENCE_PATTERN.fullmatch(str(reference)):
            return Response("no such chat", status_code=404)
        chat = await conversation_of(request, self._principal(visitor), reference)
        return self._answer(request, "chat/conversation.html", chat=chat,
                            live_url="/chat/widget/conversation")

    async def events(self, request: Request) -> Response:
        try:
            self._visitor(request, request.query_params.get("token"))
        except NotFound as e:
            return Response(e.message, status_code=404)

        async def stream() -> AsyncIterator[str]:
            yield "retry: 2000\n\n"
            async for generation in self.feed.changes(request.is_disconnected):
                yield (": still here\n\n" if generation < 0 else
                       f"event: change\ndata: {json.dumps({'generation': generation})}\n\n")

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})
