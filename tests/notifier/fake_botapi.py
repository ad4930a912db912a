"""A fake Bot API server on 127.0.0.1 (aiohttp), run in a thread of its own: Telegram's, or
Bale's (``FakeBotAPI(dialect="bale", token=BALE_TOKEN)``: Bale's token and its wording for a
chat that is gone); a test may run one of each on two ports.

It records every call and answers from a script: per chat or per method, the next answers can be
"ok", ("429", retry_after), "500", "403" (bot blocked), "400" (chat not found) or
("hang", seconds). With ``enforce_limits`` it answers 429 itself when a client sends more than
one message per second to a chat or more than ``global_limit`` in any one-second window.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token"
BALE_TOKEN = "654321:TEST-bale-token"
# How each API says "this chat will never take a message" with a 400 (python-bale-bot's
# NotFound for Bale).
CHAT_GONE = {
    "telegram": "Bad Request: chat not found",
    "bale": "Bad Request: no such group or user",
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() on arrival
    status: int = 200


@dataclass
class FakeBotAPI:
    dialect: str = "telegram"
    token: str = TOKEN
    enforce_limits: bool = False
    delay: float = 0.0  # every sendMessage answers this late (a slow Telegram)
    global_limit: int = 30
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_chat: dict[int, deque[Any]] = defaultdict(deque)
        self.by_method: dict[str, deque[Any]] = defaultdict(deque)
        self._message_id = 0
        self._lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.port = 0

    # --- control from the test ---------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script_chat(self, chat_id: int, *answers: Any) -> None:
        self.by_chat[chat_id].extend(answers)

    def script_method(self, method: str, *answers: Any) -> None:
        self.by_method[method].extend(answers)

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage calls (optionally to one chat)."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method == "sendMessage"
                and c.status == 200
                and (chat_id is None or int(c.params["chat_id"]) == chat_id)
            ]

    def attempts(self, method: str = "sendMessage") -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def start(self) -> FakeBotAPI:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    # --- server ------------------------------------------------------------------------------
    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        params = {}
        for key, value in (await request.post()).items():
            try:
                params[key] = json.loads(value)
            except (TypeError, ValueError):
                params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        params = await self._params(request)
        call = Call(method, params, time.monotonic())
        answer = self._next_answer(method, params)
        with self._lock:
            if answer == "ok" and method == "sendMessage" and self._over_limit(call):
                answer = ("429", 1)
            self.calls.append(call)
        if method == "sendMessage" and self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(answer, tuple) and answer[0] == "hang":
            await asyncio.sleep(answer[1])
            answer = "ok"
        status, body = self._render(answer, method, params)
        call.status = status
        if method == "getUpdates" and status == 200 and not body["result"]:
            await asyncio.sleep(min(float(params.get("timeout") or 0), 0.2))
        return web.json_response(body, status=status)

    def _next_answer(self, method: str, params: dict[str, Any]) -> Any:
        chat = params.get("chat_id")
        if method == "sendMessage" and chat is not None and self.by_chat[int(chat)]:
            return self.by_chat[int(chat)].popleft()
        if self.by_method[method]:
            return self.by_method[method].popleft()
        return "ok"

    def _over_limit(self, call: Call) -> bool:
        if not self.enforce_limits:
            return False
        chat = int(call.params["chat_id"])
        ok = [c for c in self.calls if c.method == "sendMessage" and c.status == 200]
        if any(int(c.params["chat_id"]) == chat and call.at - c.at < 1.0 for c in ok):
            return True
        return sum(1 for c in ok if call.at - c.at < 1.0) >= self.global_limit

    def _render(self, answer: Any, method: str, params: dict[str, Any]) -> tuple[int, dict]:
        kind = answer[0] if isinstance(answer, tuple) else answer
        if kind == "429":
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {answer[1]}",
                "parameters": {"retry_after": answer[1]},
            }
        if kind == "500":
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        if kind == "403":
            return 403, {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        if kind == "400":
            return 400, {"ok": False, "error_code": 400, "description": CHAT_GONE[self.dialect]}
        return 200, {"ok": True, "result": self._result(method, params)}

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": 123456, "is_bot": True, "first_name": "Fake", "username": "fake_bot"}
        if method == "sendMessage":
            self._message_id += 1
            return {
                "message_id": self._message_id,
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params.get("text", ""),
            }
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            with self._lock:
                ready = [u for u in self.updates if u["update_id"] >= offset]
            return ready
        return True
