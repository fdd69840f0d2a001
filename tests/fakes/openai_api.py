"""An OpenAI-compatible chat-completions server on 127.0.0.1, answering with the rule-based brains.

It lets a test run the bot as a user would (`MODEL_PROVIDER=openai`, `OPENAI_BASE_URL=…`) in a separate
process, through Strands' real OpenAI provider, streaming over SSE like vLLM, LiteLLM or Ollama's /v1.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from typing import Any

from aiohttp import web

from tests.fakes.brains import default_brains
from tests.fakes.scripted_model import Brain, ToolCall, Turn, chunks
from tests.fakes.threaded_server import ThreadedServer


def role_for(tools: list[str]) -> str:
    if "eks_assistant" in tools or "finops_assistant" in tools:
        return "coordinator"
    if "list_k8s_resources" in tools:
        return "eks_assistant"
    if "cost-explorer" in tools:
        return "finops_assistant"
    return "coordinator"


def turn_from_openai(body: dict[str, Any]) -> Turn:
    system = ""
    user_texts: list[str] = []
    results: list[str] = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        role = message.get("role")
        if role == "system":
            system = str(content or "")
        elif role == "user" and content:
            user_texts.append(str(content))
            results = []
        elif role == "tool":
            results.append(str(content or ""))
    tools = [t.get("function", {}).get("name", "") for t in body.get("tools", []) or []]
    return Turn(system, tools, user_texts[-1] if user_texts else "", results, user_texts[:-1])


class FakeOpenAI(ThreadedServer):
    """Serves POST /v1/chat/completions (streaming and not) from brains chosen by the tools offered."""

    def __init__(
        self,
        brains: dict[str, Brain] | None = None,
        chunk_size: int = 16,
        delay: float = 0.0,
        hold: dict[str, threading.Event] | None = None,
    ) -> None:
        super().__init__()
        self.brains = brains or default_brains()
        self.chunk_size = chunk_size
        self.delay = delay  # seconds between streamed chunks, to model a slow model
        # role (or "role:text": only when the question has that text) -> event: that role's streamed text
        # stops halfway until the event is set, so a test can see what the client shows meanwhile
        self.hold = hold or {}
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        return app

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        turn = turn_from_openai(body)
        role = role_for(turn.tools)
        reply = self.brains[role](turn)
        created = int(time.time())
        base = {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.get("model", "fake"),
        }
        if not body.get("stream"):
            return web.json_response(
                {
                    **base,
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": reply if isinstance(reply, str) else "",
                            },
                            "finish_reason": "stop",
                        }
                    ],
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        async def send(choice_delta: dict[str, Any], finish: str | None = None) -> None:
            chunk = {**base, "choices": [{"index": 0, "delta": choice_delta, "finish_reason": finish}]}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await send({"role": "assistant", "content": ""})
        if isinstance(reply, str):
            pieces = list(chunks(reply, self.chunk_size))
            held = [
                event
                for key, event in self.hold.items()
                if key == role or (key.startswith(f"{role}:") and key.split(":", 1)[1] in turn.user_text)
            ]
            for i, piece in enumerate(pieces):
                if self.delay:
                    await asyncio.sleep(self.delay)
                if held and i == len(pieces) // 2:
                    while not all(event.is_set() for event in held):
                        await asyncio.sleep(0.01)
                await send({"content": piece})
            await send({}, "stop")
        else:
            calls: list[ToolCall] = reply if isinstance(reply, list) else [reply]
            for index, call in enumerate(calls):
                await send(
                    {
                        "tool_calls": [
                            {
                                "index": index,
                                "id": f"call_{next(self._ids)}",
                                "type": "function",
                                "function": {"name": call.name, "arguments": json.dumps(call.input)},
                            }
                        ]
                    }
                )
            await send({}, "tool_calls")
        usage = {
            **base,
            "choices": [],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        await response.write(f"data: {json.dumps(usage)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
