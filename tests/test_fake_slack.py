"""The fake Slack behaves as Slack does where tests rely on it: envelopes shared over an app's connections."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp

from tests.fakes.slack_api import FakeSlack


async def test_with_spread_each_envelope_goes_to_one_connection_in_turn() -> None:
    """Slack shares an app's events over its Socket Mode connections (up to 10), each to one of them:
    the multi-replica tests need the fake to do the same, not to broadcast."""
    with FakeSlack(spread=True) as slack:
        url = f"ws://127.0.0.1:{slack.port}/socket"
        async with aiohttp.ClientSession() as session:
            sockets = [await session.ws_connect(url) for _ in range(3)]
            for ws in sockets:
                assert (await ws.receive_json())["type"] == "hello"
            sent = [
                await asyncio.to_thread(slack.send_event, slack.mention(f"q{i}", channel="C1"))
                for i in range(6)
            ]
            got: Counter[int] = Counter()
            for n, ws in enumerate(sockets):
                for _ in range(2):
                    envelope = await asyncio.wait_for(ws.receive_json(), 10)
                    assert envelope["envelope_id"] in sent
                    got[n] += 1
            assert got == {0: 2, 1: 2, 2: 2}
            assert len({slack.envelopes[e]["connection"] for e in sent}) == 3
            for ws in sockets:
                await ws.close()
