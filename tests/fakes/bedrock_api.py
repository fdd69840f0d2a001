"""A Bedrock Runtime ConverseStream endpoint on 127.0.0.1, answering with the rule-based brains.

It lets a test run the bot with `MODEL_PROVIDER=bedrock` through Strands' real Bedrock provider and the
real boto3 client (pointed here by `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`): requests are signed and sent as
to AWS, replies come back in AWS's binary event-stream framing, which botocore decodes and checks (CRCs).
"""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from typing import Any

from aiohttp import web

from tests.fakes.brains import default_brains
from tests.fakes.openai_api import role_for
from tests.fakes.scripted_model import Brain, ToolCall, Turn, chunks, turn_from_messages
from tests.fakes.threaded_server import ThreadedServer


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", 7, len(raw_value)) + raw_value


def event_message(event_type: str, payload: dict[str, Any]) -> bytes:
    """One message of AWS's event stream: prelude (lengths and their CRC), headers, payload, CRC."""
    headers = (
        _header(":event-type", event_type)
        + _header(":content-type", "application/json")
        + _header(":message-type", "event")
    )
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack("!II", total, len(headers))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + headers + body
    return message + struct.pack("!I", zlib.crc32(message))


def turn_from_converse(body: dict[str, Any]) -> Turn:
    """Converse's messages are Strands' own shape: read them as the in-process scripted model does."""
    system = "".join(block.get("text", "") for block in body.get("system", []))
    specs = [t["toolSpec"] for t in body.get("toolConfig", {}).get("tools", []) if "toolSpec" in t]
    return turn_from_messages(body.get("messages", []), specs, system)


class FakeBedrock(ThreadedServer):
    """Serves POST /model/{id}/converse-stream; every reply reports `input_tokens` and `output_tokens`."""

    def __init__(
        self, brains: dict[str, Brain] | None = None, input_tokens: int = 900, output_tokens: int = 40
    ) -> None:
        super().__init__()
        self.brains = brains or default_brains()
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.requests: list[dict[str, Any]] = []  # {"model": id, "body": …, "authorization": …}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/model/{model}/converse-stream", self._converse_stream)
        return app

    async def _converse_stream(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(
            {
                "model": request.match_info["model"],
                "body": body,
                "authorization": request.headers.get("Authorization", ""),
            }
        )
        turn = turn_from_converse(body)
        reply = self.brains[role_for(turn.tools)](turn)
        events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
        if isinstance(reply, str):
            # as Bedrock does: a text block has no start event (ContentBlockStart is a union: tool use only)
            for piece in chunks(reply, 16):
                events.append(("contentBlockDelta", {"delta": {"text": piece}, "contentBlockIndex": 0}))
            events.append(("contentBlockStop", {"contentBlockIndex": 0}))
            stop = "end_turn"
        else:
            calls: list[ToolCall] = reply if isinstance(reply, list) else [reply]
            for index, call in enumerate(calls):
                start = {"toolUse": {"toolUseId": f"tooluse_{uuid.uuid4().hex[:20]}", "name": call.name}}
                events.append(("contentBlockStart", {"start": start, "contentBlockIndex": index}))
                delta = {"toolUse": {"input": json.dumps(call.input)}}
                events.append(("contentBlockDelta", {"delta": delta, "contentBlockIndex": index}))
                events.append(("contentBlockStop", {"contentBlockIndex": index}))
            stop = "tool_use"
        events.append(("messageStop", {"stopReason": stop}))
        usage = {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "totalTokens": self.input_tokens + self.output_tokens,
        }
        events.append(("metadata", {"usage": usage, "metrics": {"latencyMs": 5}}))
        response = web.StreamResponse(headers={"Content-Type": "application/vnd.amazon.eventstream"})
        await response.prepare(request)
        for event_type, payload in events:
            await response.write(event_message(event_type, payload))
        await response.write_eof()
        return response
