"""An Ollama server on 127.0.0.1 (POST /api/chat, streamed as NDJSON), answering with the rule-based brains.

It lets a test run the bot with `MODEL_PROVIDER=ollama` through Strands' real Ollama provider and the real
`ollama` client, as a laptop without a GPU would run it: the brains stand in for the model, the protocol
(tool calls, the final chunk's token counts) is Ollama's.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from aiohttp import web

from tests.fakes.brains import default_brains
from tests.fakes.openai_api import role_for
from tests.fakes.scripted_model import Brain, ToolCall, Turn, chunks
from tests.fakes.threaded_server import ThreadedServer


def turn_from_ollama(body: dict[str, Any]) -> Turn:
    system = ""
    user_texts: list[str] = []
    results: list[str] = []
    for message in body.get("messages", []):
        role, content = message.get("role"), str(message.get("content") or "")
        if role == "system":
            system = content
        elif role == "user" and content:
            user_texts.append(content)
            results = []
        elif role == "tool":
            results.append(content)
    tools = [t.get("function", {}).get("name", "") for t in body.get("tools", []) or []]
    return Turn(system, tools, user_texts[-1] if user_texts else "", results, user_texts[:-1])


class FakeOllama(ThreadedServer):
    """Serves /api/chat from brains chosen by the tools offered; every reply reports `prompt_tokens` in
    and `eval_tokens` out in its last chunk, as Ollama does."""

    def __init__(
        self, brains: dict[str, Brain] | None = None, prompt_tokens: int = 700, eval_tokens: int = 30
    ) -> None:
        super().__init__()
        self.brains = brains or default_brains()
        self.prompt_tokens = prompt_tokens
        self.eval_tokens = eval_tokens
        self.requests: list[dict[str, Any]] = []

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/chat", self._chat)
        return app

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        turn = turn_from_ollama(body)
        reply = self.brains[role_for(turn.tools)](turn)
        base = {"model": body.get("model", "fake"), "created_at": dt.datetime.now(dt.UTC).isoformat()}
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)

        async def send(message: dict[str, Any], **extra: Any) -> None:
            line = {
                **base,
                "message": {"role": "assistant", "content": "", **message},
                "done": False,
                **extra,
            }
            await response.write(json.dumps(line).encode() + b"\n")

        if isinstance(reply, str):
            for piece in chunks(reply, 16):
                await send({"content": piece})
        else:
            calls: list[ToolCall] = reply if isinstance(reply, list) else [reply]
            await send({"tool_calls": [{"function": {"name": c.name, "arguments": c.input}} for c in calls]})
        await send(
            {},
            done=True,
            done_reason="stop",
            total_duration=5_000_000,
            prompt_eval_count=self.prompt_tokens,
            eval_count=self.eval_tokens,
        )
        await response.write_eof()
        return response
