"""A fake Slack on 127.0.0.1: Web API over HTTP and Socket Mode over a websocket.

The real slack-bolt app connects to it exactly as to Slack (`SLACK_API_URL` points the Web API here, and
apps.connections.open hands out this server's websocket URL). It keeps the messages it was sent, records
every call with its time, enforces Slack's size limits and, when asked, Slack's per-method rate tiers with
their burst allowance (429 + Retry-After), and can inject one-off failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.fakes.threaded_server import ThreadedServer

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
BOT_USER = "UBOT"
TEAM = "T1"

# Slack's published tiers (per method per workspace, per minute) with a burst allowance.
TIERS: dict[str, tuple[float, float]] = {
    "chat.startStream": (20, 20),
    "chat.stopStream": (20, 20),
    "chat.appendStream": (100, 100),
    "chat.update": (50, 50),
    "chat.delete": (50, 50),
    "chat.postEphemeral": (100, 100),
    "assistant.threads.setStatus": (50, 50),
    "assistant.threads.setTitle": (50, 50),
    "assistant.threads.setSuggestedPrompts": (50, 50),
    "users.info": (100, 100),
    "usergroups.users.list": (20, 20),
    "auth.test": (100, 100),
    "files.getUploadURLExternal": (100, 100),
    "files.completeUploadExternal": (100, 100),
}
POST_PER_CHANNEL = (60, 5)  # chat.postMessage: ~1/s per channel, short bursts


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    response: dict[str, Any] = field(default_factory=dict)
    status: int = 200


@dataclass
class Message:
    channel: str
    ts: str
    thread_ts: str | None
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    streamed: str = ""  # markdown appended by the streaming methods
    streaming: bool = False
    stream: bool = False
    chunks: list[dict[str, Any]] = field(default_factory=list)
    edits: list[float] = field(default_factory=list)  # times of every change after creation
    created: float = 0.0
    user: str = BOT_USER
    files: list[str] = field(default_factory=list)  # ids of the files shared with this message

    @property
    def final_text(self) -> str:
        """What a person reads: streamed markdown, else the markdown block, else the text."""
        if self.stream:
            return self.streamed
        markdown = [b.get("text", "") for b in self.blocks if b.get("type") == "markdown"]
        return "\n".join(markdown) if markdown else self.text


@dataclass
class Upload:
    """A file of Slack's external upload flow: announced, its bytes posted, then shared (or not)."""

    file_id: str
    filename: str
    length: int
    alt_txt: str = ""
    content: bytes = b""
    title: str = ""
    channel: str = ""
    thread_ts: str | None = None
    shared: bool = False


class FakeClock:
    """A `slackbot.rate_budget.Clock` whose time moves only when the code sleeps (or the test advances it):
    every wait is recorded in `sleeps`, none is spent, so tests check waits exactly and never by time."""

    STILL_READS = 100_000  # reads with no time passing: the code waits on something else (a bug)
    MAX_SLEEPS = 10_000  # waits in one test: the code waits for something that never comes (a bug)

    def __init__(self, start: float = 0.0) -> None:
        self.t = start
        self.sleeps: list[float] = []
        self._still = 0

    def now(self) -> float:
        self._still += 1
        if self._still > self.STILL_READS:
            raise AssertionError("busy-waiting on a clock that only moves when slept on")
        return self.t

    async def sleep(self, seconds: float) -> None:
        if len(self.sleeps) >= self.MAX_SLEEPS:
            raise AssertionError(f"slept {self.MAX_SLEEPS:,} times on a fake clock: waiting forever")
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would

    def advance(self, seconds: float) -> None:
        self.t += seconds
        self._still = 0


class _Bucket:
    def __init__(self, per_minute: float, burst: float) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.tokens = burst
        self.updated = time.monotonic()

    def take(self) -> float:
        """0 when allowed, else the seconds until a token is there."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class FakeSlack(ThreadedServer):
    """Start with `start()`; point the bot at `api_url`; push events with `send_event()` etc."""

    thread_name = "fake-slack"

    def __init__(
        self,
        *,
        rate_limits: bool = False,
        retry_after: int = 1,
        burst: int | None = None,
        spread: bool = False,
    ) -> None:
        """`burst` caps every method's burst (Slack publishes none): 5 is a small-burst workspace.
        `spread`: each envelope goes to the next connection in turn, as Slack shares load over an app's
        connections (several replicas); otherwise to the newest connection."""
        super().__init__()
        self.rate_limits = rate_limits
        self.burst = burst
        self.spread = spread
        self._turn = itertools.count()
        self.retry_after = retry_after
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self.ephemeral: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []  # posts to response_url
        self.usergroups: dict[str, list[str]] = {}
        self.uploads: dict[str, Upload] = {}  # files.getUploadURLExternal → upload URL → complete
        self.rate_limited_count = 0
        self.envelopes: dict[str, dict[str, Any]] = {}  # id → {"sent": t, "acked": t, "ack": payload}
        self._failures: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._buckets: dict[str, _Bucket] = {}
        self._ts = itertools.count(100)
        self._sockets: list[web.WebSocketResponse] = []
        self._acked: dict[str, asyncio.Event] = {}
        self._connected = threading.Event()
        self._lock = threading.Lock()

    # lifecycle ----------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # slack_sdk reads some methods with GET
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/response/{id}", self._response_url)
        app.router.add_post("/upload/{id}", self._upload)
        return app

    async def before_shutdown(self) -> None:
        for ws in list(self._sockets):
            await ws.close()

    # inspection ---------------------------------------------------------------------------------

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in list(self.calls) if c.method == method]

    def answered_calls(self) -> Counter[str]:
        """Calls per method, a 429 not counted (slack_sdk retries it: the retry is the same call)."""
        return Counter(c.method for c in list(self.calls) if c.status != 429)

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """Messages in a thread (the root excluded), oldest first."""
        return sorted(
            (
                m
                for m in list(self.messages.values())
                if m.channel == channel and m.thread_ts == thread_ts and m.ts != thread_ts
            ),
            key=lambda m: float(m.ts),
        )

    def shared_files(self, channel: str, thread_ts: str) -> list[Upload]:
        """The files shared into a thread, oldest first."""
        return [
            self.uploads[f] for m in self.thread(channel, thread_ts) for f in m.files if f in self.uploads
        ]

    def fail_next(
        self, method: str, *, status: int = 429, error: str = "ratelimited", retry_after: int = 1
    ) -> None:
        """The next call of `method` fails this way (429 with Retry-After, or an API error)."""
        self._failures[method].append({"status": status, "error": error, "retry_after": retry_after})

    # Web API ------------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or str(
            params.get("token", "")
        )
        call = Call(method, params, time.monotonic())
        self.calls.append(call)

        def answer(
            body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
        ) -> web.Response:
            call.response, call.status = body, status
            return web.json_response(body, status=status, headers=headers)

        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return answer({"ok": False, "error": "invalid_auth" if token else "not_authed"})
        if self._failures.get(method):
            failure = self._failures[method].pop(0)
            if failure["status"] == 429:
                self.rate_limited_count += 1
                return answer(
                    {"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(failure["retry_after"])}
                )
            return answer({"ok": False, "error": failure["error"]}, failure["status"])
        if self.rate_limits:
            wait = self._bucket(method, params.get("channel")).take() if self._limited(method) else 0.0
            if wait > 0:
                self.rate_limited_count += 1
                return answer(
                    {"ok": False, "error": "ratelimited"},
                    429,
                    {"Retry-After": str(max(self.retry_after, int(wait + 0.999)))},
                )
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return answer({"ok": False, "error": "unknown_method"})
        body = handler(params)
        return answer(body)

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)  # slack_sdk sends `params=` calls in the query string
        if request.method == "GET":
            pass
        elif request.content_type == "application/json":
            data = await request.json()
            params.update(data if isinstance(data, dict) else {})
        else:
            params.update(parse_qsl(await request.text()))
        for key in ("blocks", "chunks", "attachments", "metadata", "prompts", "files"):
            if isinstance(params.get(key), str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        return params

    def _limited(self, method: str) -> bool:
        return method == "chat.postMessage" or method in TIERS

    def _bucket(self, method: str, channel: Any) -> _Bucket:
        key = f"{method}:{channel}" if method == "chat.postMessage" else method
        if key not in self._buckets:
            per_minute, burst = POST_PER_CHANNEL if method == "chat.postMessage" else TIERS[method]
            self._buckets[key] = _Bucket(per_minute, burst if self.burst is None else min(burst, self.burst))
        return self._buckets[key]

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    @staticmethod
    def _check_content(params: dict[str, Any], text_limit: int) -> str | None:
        text = params.get("text") or ""
        if len(text) > text_limit:
            return "msg_too_long"
        blocks = params.get("blocks") or []
        if not isinstance(blocks, list) or len(blocks) > 50:
            return "invalid_blocks"
        markdown_total = 0
        for block in blocks:
            if block.get("type") == "section":
                t = (block.get("text") or {}).get("text", "")
                if len(t) > 3000:
                    return "invalid_blocks"
            if block.get("type") == "markdown":
                markdown_total += len(block.get("text", ""))
        if markdown_total > 12000:
            return "invalid_blocks"
        if not text and not blocks and not params.get("chunks") and not params.get("markdown_text"):
            return "no_text"
        return None

    def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "sre-bot",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": "BBOT",
        }

    def _m_apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        error = self._check_content(p, 40000)
        if error:
            return {"ok": False, "error": error}
        channel = str(p.get("channel"))
        if channel.startswith("CX"):
            return {"ok": False, "error": "not_in_channel"}
        ts = self._next_ts()
        msg = Message(
            channel,
            ts,
            p.get("thread_ts"),
            p.get("text") or "",
            p.get("blocks") or [],
            created=time.monotonic(),
        )
        self.messages[(channel, ts)] = msg
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": msg.text, "ts": ts}}

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self.messages.get((str(p.get("channel")), str(p.get("ts"))))
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        error = self._check_content(p, 4000)
        if error:
            return {"ok": False, "error": error}
        msg.text = p.get("text") or ""
        msg.blocks = p.get("blocks") or []
        msg.edits.append(time.monotonic())
        return {"ok": True, "channel": msg.channel, "ts": msg.ts, "text": msg.text}

    def _m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        self.ephemeral.append(p)
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": self.messages.pop((str(p.get("channel")), str(p.get("ts"))), None) is not None}

    def _stream_chunks(self, msg: Message, p: dict[str, Any]) -> str | None:
        text = p.get("markdown_text") or ""
        chunks = p.get("chunks") or []
        for chunk in chunks:
            if chunk.get("type") == "markdown_text":
                text += chunk.get("text", "")
            elif chunk.get("type") == "task_update" and chunk.get("status") not in (
                "pending",
                "in_progress",
                "complete",
                "error",
            ):
                return "invalid_chunks"
        if len(text) > 12000 or len(msg.streamed) + len(text) > 40000:
            return "msg_too_long"
        msg.streamed += text
        msg.chunks.extend(chunks)
        return None

    def _m_chat_startStream(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p.get("channel"))
        if not p.get("thread_ts"):
            return {"ok": False, "error": "invalid_arguments"}
        if not channel.startswith("D") and not (p.get("recipient_user_id") and p.get("recipient_team_id")):
            return {"ok": False, "error": "missing_recipient_user_id"}
        ts = self._next_ts()
        msg = Message(channel, ts, p.get("thread_ts"), stream=True, streaming=True, created=time.monotonic())
        error = self._stream_chunks(msg, p)
        if error:
            return {"ok": False, "error": error}
        self.messages[(channel, ts)] = msg
        return {"ok": True, "channel": channel, "ts": ts}

    def _m_chat_appendStream(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self.messages.get((str(p.get("channel")), str(p.get("ts"))))
        if msg is None or not msg.streaming:
            return {"ok": False, "error": "message_not_in_streaming_state"}
        error = self._stream_chunks(msg, p)
        if error:
            return {"ok": False, "error": error}
        msg.edits.append(time.monotonic())
        return {"ok": True, "channel": msg.channel, "ts": msg.ts}

    def _m_chat_stopStream(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self.messages.get((str(p.get("channel")), str(p.get("ts"))))
        if msg is None or not msg.streaming:
            return {"ok": False, "error": "message_not_in_streaming_state"}
        error = self._stream_chunks(msg, p)
        if error:
            return {"ok": False, "error": error}
        if p.get("blocks"):
            msg.blocks = p["blocks"]
        msg.streaming = False
        msg.edits.append(time.monotonic())
        return {"ok": True, "channel": msg.channel, "ts": msg.ts, "message": {"text": msg.streamed}}

    def _m_assistant_threads_setStatus(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    _m_assistant_threads_setTitle = _m_assistant_threads_setStatus
    _m_assistant_threads_setSuggestedPrompts = _m_assistant_threads_setStatus

    def _m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        filename, length = str(p.get("filename") or ""), int(p.get("length") or 0)
        if not filename or length <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ts):08d}"
        self.uploads[file_id] = Upload(file_id, filename, length, str(p.get("alt_txt") or ""))
        return {
            "ok": True,
            "file_id": file_id,
            "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}",
        }

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(request.match_info["id"])
        if upload is None:
            return web.Response(status=404, text="unknown upload")
        upload.content = await request.read()
        if len(upload.content) != upload.length:
            return web.Response(status=400, text="length mismatch")
        return web.Response(text=f"OK - {len(upload.content)}")

    def _m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        files = p.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = str(p.get("channel_id") or "")
        uploads = [self.uploads.get(str(f.get("id"))) for f in files if isinstance(f, dict)]
        if any(u is None or not u.content for u in uploads):
            return {"ok": False, "error": "file_not_found"}
        shared = [u for u in uploads if u is not None]
        for upload, item in zip(shared, files, strict=True):
            upload.title, upload.channel, upload.thread_ts, upload.shared = (
                str(item.get("title") or upload.filename),
                channel,
                p.get("thread_ts"),
                bool(channel),
            )
        if channel:  # shared: a message in the channel (or thread) with the comment and the files
            ts = self._next_ts()
            self.messages[(channel, ts)] = Message(
                channel,
                ts,
                p.get("thread_ts"),
                str(p.get("initial_comment") or ""),
                created=time.monotonic(),
                files=[u.file_id for u in shared],
            )
        return {"ok": True, "files": [{"id": u.file_id, "title": u.title} for u in shared]}

    def _m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user": {"id": p.get("user"), "name": f"user-{p.get('user')}", "is_bot": False}}

    def _m_usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        group = str(p.get("usergroup"))
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.usergroups[group]}

    async def _response_url(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.json_response({"ok": True})

    # Socket Mode --------------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "fake"},
                "connection_info": {"app_id": "A1"},
            }
        )
        self._connected.set()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                envelope_id = data.get("envelope_id")
                if envelope_id in self.envelopes:
                    self.envelopes[envelope_id]["acked"] = time.monotonic()
                    self.envelopes[envelope_id]["ack"] = data.get("payload")
                    event = self._acked.get(envelope_id)
                    if event is not None:
                        event.set()
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self._connected.clear()
        return ws

    def wait_connected(self, timeout: float = 10) -> bool:
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def connections(self) -> int:
        """Socket Mode connections open now (one per replica of the bot)."""
        return len([ws for ws in self._sockets if not ws.closed])

    def _push(self, envelope: dict[str, Any]) -> str:
        envelope_id = envelope["envelope_id"]
        self.envelopes[envelope_id] = {"sent": time.monotonic(), "acked": None, "ack": None}

        async def send() -> None:
            self._acked[envelope_id] = asyncio.Event()
            if not self._sockets:
                raise RuntimeError("no Socket Mode client is connected")
            self.envelopes[envelope_id]["sent"] = time.monotonic()
            live = [ws for ws in self._sockets if not ws.closed]
            ws = live[next(self._turn) % len(live)] if self.spread and live else self._sockets[-1]
            self.envelopes[envelope_id]["connection"] = id(ws)
            await ws.send_json(envelope)

        self.call(send())
        return envelope_id

    def send_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        event_id = event_id or f"Ev{uuid.uuid4().hex[:10].upper()}"
        payload = {
            "token": "x",
            "team_id": TEAM,
            "api_app_id": "A1",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
        }
        return self._push(
            {
                "envelope_id": str(uuid.uuid4()),
                "payload": payload,
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": retry_attempt,
                "retry_reason": retry_reason,
            }
        )

    def send_slash_command(
        self, text: str, *, command: str = "/k8s", user_id: str = "U1", channel_id: str = "C1"
    ) -> str:
        response_id = uuid.uuid4().hex[:8]
        payload = {
            "token": "x",
            "team_id": TEAM,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": "ops",
            "user_id": user_id,
            "user_name": f"user-{user_id}",
            "command": command,
            "text": text,
            "api_app_id": "A1",
            "response_url": f"http://127.0.0.1:{self.port}/response/{response_id}",
            "trigger_id": "1.2.3",
        }
        return self._push(
            {
                "envelope_id": str(uuid.uuid4()),
                "payload": payload,
                "type": "slash_commands",
                "accepts_response_payload": True,
            }
        )

    def send_block_action(
        self,
        action_id: str,
        value: str,
        *,
        user_id: str = "U1",
        channel_id: str = "C1",
        message_ts: str = "",
        block_id: str = "b1",
    ) -> str:
        response_id = uuid.uuid4().hex[:8]
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "fake"},
            "user": {"id": user_id, "username": f"user-{user_id}", "team_id": TEAM},
            "api_app_id": "A1",
            "token": "x",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            },
            "trigger_id": "1.2.3",
            "channel": {"id": channel_id, "name": "ops"},
            "message": {"ts": message_ts, "text": ""},
            "response_url": f"http://127.0.0.1:{self.port}/response/{response_id}",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value,
                    "type": "button",
                    "action_ts": str(time.time()),
                }
            ],
        }
        return self._push(
            {
                "envelope_id": str(uuid.uuid4()),
                "payload": payload,
                "type": "interactive",
                "accepts_response_payload": False,
            }
        )

    def wait_ack(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        """Block until the bot acked the envelope; returns {"sent", "acked", "ack"}."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = self.envelopes[envelope_id]
            if record["acked"] is not None:
                return record
            time.sleep(0.005)
        raise TimeoutError(f"envelope {envelope_id} was not acked within {timeout}s")

    def disconnect_all(self) -> None:
        async def send() -> None:
            for ws in list(self._sockets):
                await ws.send_json({"type": "disconnect", "reason": "refresh_requested"})

        self.call(send())

    # event builders -----------------------------------------------------------------------------

    def mention(
        self, text: str, *, channel: str = "C1", user: str = "U1", thread_ts: str | None = None
    ) -> dict[str, Any]:
        ts = self._next_ts()
        event = {
            "type": "app_mention",
            "user": user,
            "text": f"<@{BOT_USER}> {text}",
            "ts": ts,
            "channel": channel,
            "team": TEAM,
            "event_ts": ts,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        self.messages[(channel, ts)] = Message(channel, ts, thread_ts, event["text"], user=user)
        return event

    def dm(
        self, text: str, *, user: str = "U1", channel: str = "D1", thread_ts: str | None = None
    ) -> dict[str, Any]:
        ts = self._next_ts()
        event = {
            "type": "message",
            "channel_type": "im",
            "user": user,
            "text": text,
            "ts": ts,
            "channel": channel,
            "team": TEAM,
            "event_ts": ts,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        self.messages[(channel, ts)] = Message(channel, ts, thread_ts, text, user=user)
        return event
