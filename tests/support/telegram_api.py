"""A stand-in for the Telegram Bot API: a small HTTP server speaking its JSON.

python-telegram-bot is pointed at it by base URL (`http://127.0.0.1:PORT/bot`)
and talks to it as to Telegram: getMe, getUpdates (with offsets that confirm
and forget updates, and long polling), sendMessage, sendPhoto, sendDocument,
getFile and the file download path (`/file/bot<token>/<path>`), setWebhook and
deleteWebhook.  Tests queue updates (`message`, `edit`), script failures
(`fail_next`: a 429 with retry_after, a 500), mark chats as blocked (403) or
deleted (400 "chat not found"), and read what the bot sent (`sent`).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "123456:TEST-token-for-the-stand-in"
BOT_ID = 123456


@dataclass
class Sent:
    method: str
    chat_id: int
    text: str = ""
    reply_to: int | None = None
    filename: str = ""
    data: bytes = b""
    message_id: int = 0


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class BotApiStandIn:
    token: str = TOKEN
    updates: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id → (path, data)
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    broken_files: set[str] = field(default_factory=set)  # file paths answered 500 once
    blocked: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    webhook: dict[str, Any] = field(default_factory=dict)
    next_update_id: int = 1000
    next_message_id: int = 1
    confirmed_below: int = 0
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what a test sets up ------------------------------------------------------------

    def message(self, user_id: int, text: str = "", **extra: Any) -> dict[str, Any]:
        """Queue a private message from `user_id`; returns its update."""
        message = {"message_id": self._message_id(), "date": int(time.time()),
                   "chat": {"id": user_id, "type": "private", "first_name": "Wang"},
                   "from": {"id": user_id, "is_bot": False, "first_name": "Wang",
                            "last_name": "Fang", "username": "wangfang"}}
        if text:
            message["caption" if ("photo" in extra or "document" in extra) else "text"] = text
        message.update(extra)
        return self.push({"message": message})

    def press(self, user_id: int, sent: Sent, data: str) -> dict[str, Any]:
        """Queue a press by `user_id` on an inline button of our message `sent`."""
        message = {"message_id": sent.message_id, "date": int(time.time()),
                   "chat": {"id": sent.chat_id, "type": "private"},
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "Ledgerdesk"},
                   "text": sent.text}
        return self.push({"callback_query": {
            "id": f"cb{self.next_update_id}", "chat_instance": "ci", "data": data,
            "from": {"id": user_id, "is_bot": False, "first_name": "Wang"},
            "message": message}})

    def edit(self, original: dict[str, Any], text: str) -> dict[str, Any]:
        message = dict(original["message"], text=text, edit_date=int(time.time()) + 1)
        return self.push({"edited_message": message})

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            update = {"update_id": self.next_update_id, **update}
            self.next_update_id += 1
            self.updates.append(update)
        return update

    def redeliver(self, update: dict[str, Any]) -> None:
        """The same update (same update id) offered again, as a server may."""
        with self._lock:
            self.updates.append(update)

    def photo(self, data: bytes, sizes: int = 3) -> list[dict[str, Any]]:
        """PhotoSize entries, smallest first, as Telegram sends them; the last is `data`."""
        entries = []
        for i in range(sizes):
            blob = data if i == sizes - 1 else data[: max(1, len(data) // (4 ** (sizes - i)))]
            file_id = self.add_file(f"photos/file_{len(self.files)}.jpg", blob)
            entries.append({"file_id": file_id, "file_unique_id": f"u{file_id}",
                            "width": 90 * (i + 1), "height": 60 * (i + 1),
                            "file_size": len(blob)})
        return entries

    def document(self, data: bytes, name: str, mime: str) -> dict[str, Any]:
        file_id = self.add_file(f"documents/{name}", data)
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": name,
                "mime_type": mime, "file_size": len(data)}

    def add_file(self, path: str, data: bytes) -> str:
        file_id = f"F{len(self.files) + 1}"
        self.files[file_id] = (path, data)
        return file_id

    def fail_next(self, method: str, status: int, description: str,
                  retry_after: int | None = None) -> None:
        self.failures.setdefault(method, []).append(Failure(status, description, retry_after))

    def sent_to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    def called(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    # --- the server ---------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
        ])

    async def _method(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return error_response(401, "Unauthorized")
        method = request.path_params["method"]
        params: dict[str, Any] = {}
        if request.method == "POST":
            form = await request.form()
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    params[key] = (value.filename or "", await value.read())
                else:
                    params[key] = value if key in ("text", "caption") else _decoded(value)
        params.update(request.query_params)
        self.calls.append((method, params))
        pending = self.failures.get(method)
        if pending:
            failure = pending.pop(0)
            return error_response(failure.status, failure.description, failure.retry_after)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return error_response(404, "Not Found: method not found")
        result = await handler(params)
        return result if isinstance(result, Response) else JSONResponse({"ok": True,
                                                                          "result": result})

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Ledgerdesk",
                "username": "ledgerdesk_test_bot", "can_join_groups": False,
                "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 2.0)
        while True:
            with self._lock:
                if offset:
                    # An offset confirms every update below it: the server forgets them.
                    self.confirmed_below = max(self.confirmed_below, offset)
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                found = self.updates[:limit]
            if found or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(0.05)

    async def _api_getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params["file_id"])
        if file_id not in self.files:
            return error_response(400, "Bad Request: invalid file_id")
        path, data = self.files[file_id]
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data),
                "file_path": path}

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        return self._deliver("sendMessage", params, text=str(params.get("text", "")))

    async def _api_sendPhoto(self, params: dict[str, Any]) -> Any:
        filename, data = params.get("photo", ("", b""))
        return self._deliver("sendPhoto", params, filename=filename, data=data)

    async def _api_sendDocument(self, params: dict[str, Any]) -> Any:
        filename, data = params.get("document", ("", b""))
        return self._deliver("sendDocument", params, filename=filename, data=data)

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = dict(params)
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {}
        return True

    def _deliver(self, method: str, params: dict[str, Any], **what: Any) -> Any:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            return error_response(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.deleted:
            return error_response(400, "Bad Request: chat not found")
        reply = params.get("reply_parameters") or {}
        sent = Sent(method, chat_id, reply_to=reply.get("message_id"),
                    message_id=self._message_id(), **what)
        self.sent.append(sent)
        message: dict[str, Any] = {
            "message_id": sent.message_id, "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Ledgerdesk"}}
        if sent.text:
            message["text"] = sent.text
        if method == "sendDocument":
            message["document"] = {"file_id": "out", "file_unique_id": "out",
                                   "file_name": sent.filename}
        if method == "sendPhoto":
            message["photo"] = [{"file_id": "out", "file_unique_id": "out", "width": 1,
                                 "height": 1}]
        return message

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        path = request.path_params["path"]
        if path in self.broken_files:
            self.broken_files.discard(path)
            return Response("unavailable", status_code=500)
        for stored_path, data in self.files.values():
            if stored_path == path:
                return Response(data, media_type="application/octet-stream")
        return Response(status_code=404)

    def _message_id(self) -> int:
        with self._lock:
            self.next_message_id += 1
            return self.next_message_id


def _decoded(value: str) -> Any:
    """python-telegram-bot sends non-string parameters JSON-encoded in the form."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def error_response(status: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)


class RunningStandIn:
    """The stand-in served by uvicorn on a free port, in a thread of its own."""

    def __init__(self, api: BotApiStandIn | None = None) -> None:
        self.api = api or BotApiStandIn()
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        port = self.socket.getsockname()[1]
        self.api.base_url = f"http://127.0.0.1:{port}/bot"
        config = uvicorn.Config(self.api.app(), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> BotApiStandIn:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Bot API stand-in did not start")
            time.sleep(0.02)
        return self.api

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()
