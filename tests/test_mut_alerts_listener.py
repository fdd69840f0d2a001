"""The alert listener (slackbot/alerts/listener.py) at its edges: the body limit however the body comes,
bytes a header may hold, the exact answers SNS gets, the confirmation GET (its status, no redirect, its
10-second limit) and the listener's own socket.

Written for mutation testing (tests/MUTATION.md); tests/test_alerts_listener.py has the routes' rules.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from slackbot.alerts.listener import _get, start_listener
from tests.sns_signing import alarm_message, notification, sign_message, subscription_confirmation
from tests.test_alerts_listener import AM_BODY, TOKEN, World, counted, send

LIMIT = 8192  # World's ALERTS_MAX_BODY_BYTES
TOO_LARGE = {"ok": False, "error": f"bodies are limited to {LIMIT} bytes"}


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[World, aiohttp.ClientSession, str, TestServer]]:
    w = World(tmp_path)
    server = TestServer(w.listener.app())
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield w, session, str(server.make_url("")), server
    await server.close()


async def raw_request(server: TestServer, head: bytes, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """One request written byte by byte (what aiohttp's client would not send); the status and JSON."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(head + b"\r\n\r\n" + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


@pytest.mark.parametrize("path", ["/alerts/alertmanager", "/alerts/sns"])
async def test_a_streamed_body_without_a_length_is_cut_at_the_limit_with_413(world: Any, path: str) -> None:
    w, session, base, _ = world
    source = path.rsplit("/", 1)[1]
    before = counted(source, "refused", "too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1024

    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with session.post(base + path, data=chunks(), headers=headers) as response:
        assert (response.status, await response.json()) == (413, TOO_LARGE)
    assert counted(source, "refused", "too_large") == before + 1
    assert w.inbox.pending() == [] and w.woken == 0


@pytest.mark.parametrize("path", ["/alerts/alertmanager", "/alerts/sns"])
async def test_a_declared_length_over_the_limit_is_refused_before_any_of_the_body_arrives(
    world: Any, path: str
) -> None:
    w, _, _, server = world
    source = path.rsplit("/", 1)[1]
    before = counted(source, "refused", "too_large")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {LIMIT * 1000}"
    ).encode()
    assert await raw_request(server, head) == (413, TOO_LARGE)  # no body sent: the answer does not wait
    assert counted(source, "refused", "too_large") == before + 1
    assert w.inbox.pending() == []


async def test_a_body_of_exactly_the_limit_is_taken_and_one_byte_more_is_not(world: Any) -> None:
    w, session, base, _ = world
    body = json.dumps(AM_BODY).encode()
    exact = body + b" " * (LIMIT - len(body))
    assert len(exact) == LIMIT
    assert await send(session, base + "/alerts/alertmanager", None, raw=exact) == (200, {"ok": True})
    assert len(w.inbox.pending()) == 1
    over = json.dumps({**AM_BODY, "groupKey": "other"}).encode()
    over += b" " * (LIMIT + 1 - len(over))
    assert await send(session, base + "/alerts/alertmanager", None, raw=over) == (413, TOO_LARGE)
    assert len(w.inbox.pending()) == 1


@pytest.mark.parametrize("token", [b"\xff\xfe", TOKEN.encode() + b"\xff", b"\xc3\x28"])
async def test_a_token_header_with_bytes_that_are_not_utf8_is_401_not_a_crash(
    world: Any, token: bytes
) -> None:
    w, _, _, server = world
    before = counted("alertmanager", "refused", "auth")
    body = json.dumps(AM_BODY).encode()
    head = (
        b"POST /alerts/alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + token
        + f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close".encode()
    )
    assert await raw_request(server, head, body) == (
        401,
        {"ok": False, "error": "missing or wrong bearer token"},
    )
    assert counted("alertmanager", "refused", "auth") == before + 1
    assert w.inbox.pending() == []


async def test_sns_hears_exactly_what_became_of_each_kind_of_message(world: Any) -> None:
    w, session, base, _ = world
    url = base + "/alerts/sns"
    confirmation = sign_message(subscription_confirmation(), w.key)
    assert await send(session, url, confirmation, token=None) == (200, {"ok": True, "confirmed": True})
    assert w.confirmed == [confirmation["SubscribeURL"]]
    unsubscribed = sign_message(subscription_confirmation(Type="UnsubscribeConfirmation"), w.key)
    assert await send(session, url, unsubscribed, token=None) == (200, {"ok": True})
    assert w.confirmed == [confirmation["SubscribeURL"]] and w.inbox.pending() == [] and w.woken == 0
    quiet = sign_message(notification(alarm_message("INSUFFICIENT_DATA")), w.key)
    assert await send(session, url, quiet, token=None) == (
        200,
        {"ok": True, "ignored": "INSUFFICIENT_DATA is not an alarm state change the bot acts on"},
    )
    not_an_alarm = sign_message(notification("not an alarm"), w.key)
    assert await send(session, url, not_an_alarm, token=None) == (
        400,
        {"ok": False, "error": "Message is not JSON: not a CloudWatch alarm"},
    )
    assert w.inbox.pending() == []
    alarm = sign_message(notification(alarm_message()), w.key)
    assert await send(session, url, alarm, token=None) == (200, {"ok": True})
    assert await send(session, url, alarm, token=None) == (200, {"ok": True, "duplicate": True})
    assert len(w.inbox.pending()) == 1 and w.woken == 1


async def test_an_alertmanager_resend_hears_it_is_a_duplicate(world: Any) -> None:
    w, session, base, _ = world
    assert await send(session, base + "/alerts/alertmanager", AM_BODY) == (200, {"ok": True})
    assert await send(session, base + "/alerts/alertmanager", AM_BODY) == (
        200,
        {"ok": True, "duplicate": True},
    )
    assert len(w.inbox.pending()) == 1


@pytest.fixture
async def sns_host() -> AsyncIterator[tuple[TestServer, list[str]]]:
    """A stand-in for SNS's ConfirmSubscription: the status is chosen by the path; every request seen."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.path_qs)
        if request.path == "/moved":
            raise web.HTTPFound("/elsewhere")
        return web.Response(status=404 if request.path == "/missing" else 200, text="<xml/>")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    server = TestServer(app)
    await server.start_server()
    yield server, seen
    await server.close()


async def test_the_confirmation_get_succeeds_only_on_200_and_follows_no_redirect(sns_host: Any) -> None:
    server, seen = sns_host
    await _get(str(server.make_url("/?Action=ConfirmSubscription&Token=t")))
    assert seen == ["/?Action=ConfirmSubscription&Token=t"]
    with pytest.raises(OSError) as missing:
        await _get(str(server.make_url("/missing")))
    assert str(missing.value) == "SNS answered 404"
    with pytest.raises(OSError) as moved:
        await _get(str(server.make_url("/moved")))
    assert str(moved.value) == "SNS answered 302"
    assert seen == ["/?Action=ConfirmSubscription&Token=t", "/missing", "/moved"]  # never /elsewhere


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock moves only when the test moves it: timers fire at virtual times."""

    now = 1000.0

    def time(self) -> float:
        return self.now


def test_the_confirmation_get_gives_up_after_10_seconds_without_an_answer() -> None:
    loop = VirtualClockLoop()

    async def scenario() -> None:
        arrived = asyncio.Event()

        async def silent(_request: web.Request) -> web.Response:
            arrived.set()
            await asyncio.Event().wait()  # SNS never answers
            raise AssertionError("unreachable")

        app = web.Application()
        app.router.add_get("/", silent)
        server = TestServer(app)
        await server.start_server()
        try:
            started = loop.time()
            get = asyncio.ensure_future(_get(str(server.make_url("/"))))
            await arrived.wait()
            for elapsed, done in [(9.99, False), (10.01, True)]:
                loop.now = started + elapsed
                for _ in range(20):  # let the loop run the timers now due and the task react
                    await asyncio.sleep(0)
                assert get.done() is done, f"after {elapsed} s"
            assert isinstance(get.exception(), TimeoutError)  # an OSError: the listener answers 400
        finally:
            get.cancel()
            await server.close()

    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()


async def test_the_listener_serves_on_the_host_and_port_given_and_logs_no_requests(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    w = World(tmp_path)
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    caplog.set_level(logging.DEBUG, logger="aiohttp.access")
    runner = await start_listener(w.listener.app(), "127.0.0.1", port)
    try:
        assert runner.addresses == [("127.0.0.1", port)]
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/alerts/alertmanager"
            assert await send(session, url, AM_BODY) == (200, {"ok": True})
    finally:
        await runner.cleanup()
    assert len(w.inbox.pending()) == 1
    assert [r for r in caplog.records if r.name == "aiohttp.access"] == []  # the path is all it would log
