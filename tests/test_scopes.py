"""The structured-concurrency core: receive pump, limits, deadlines, cleanups, groups."""

from __future__ import annotations

import math

import pytest
import trio
import trio.testing

from trioapi._exception_groups import collapse_own_groups, single_leaf
from trioapi._receive import ReceivePump
from trioapi._scopes import (
    RequestContext,
    RequestLimits,
    get_request_context,
    open_request_nursery,
    open_scope_nursery,
)
from trioapi._serve import serve_request
from trioapi._watchdog import WATCH_AFTER, RequestWatchdog
from trioapi.exceptions import HTTPException


def http_scope(headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    return {"type": "http", "method": "POST", "path": "/", "headers": headers or []}


class FakeServer:
    """A scripted client: body chunks to deliver, then (optionally) a disconnect."""

    def __init__(self, chunks: list[bytes], *, disconnect_after: float | None = None) -> None:
        self.chunks = list(chunks)
        self.disconnect_after = disconnect_after
        self.made_at = trio.current_time()
        self.sent: list[dict] = []
        self.received_calls = 0

    async def receive(self) -> dict:
        self.received_calls += 1
        if self.chunks:
            chunk = self.chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}
        if self.disconnect_after is None:
            await trio.sleep_forever()
        # From when the server was made (the request's start), not from this read.
        await trio.sleep_until(self.made_at + self.disconnect_after)
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        self.sent.append(message)


async def respond(send, status: int = 200, body: bytes = b"ok") -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        assert message["type"] == "http.request"
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def test_app_reads_the_whole_body_through_the_pump():
    server = FakeServer([b"a" * 10, b"b" * 10, b"c"])
    seen = []

    async def app(scope, receive, send):
        seen.append(await read_body(receive))
        await respond(send)

    await serve_request(app, http_scope(), server.receive, server.send, limits=RequestLimits())
    assert seen == [b"a" * 10 + b"b" * 10 + b"c"]
    assert [m["type"] for m in server.sent] == ["http.response.start", "http.response.body"]


async def test_body_over_the_limit_raises_413_in_the_app():
    server = FakeServer([b"x" * 60, b"x" * 60])
    errors = []

    async def app(scope, receive, send):
        try:
            await read_body(receive)
        except HTTPException as exc:
            errors.append((exc.status_code, exc.detail))
        await respond(send)

    await serve_request(
        app, http_scope(), server.receive, server.send, limits=RequestLimits(max_body_size=100)
    )
    assert errors == [(413, "Request body is too large")]


async def test_declared_content_length_over_the_limit_is_refused_before_reading():
    server = FakeServer([b"x"])
    errors = []

    async def app(scope, receive, send):
        try:
            await receive()
        except HTTPException as exc:
            errors.append(exc.status_code)
        await respond(send)

    scope = http_scope([(b"content-length", b"1000")])
    await serve_request(
        app, scope, server.receive, server.send, limits=RequestLimits(max_body_size=10)
    )
    assert errors == [413]


@pytest.mark.parametrize(("http_version", "closes"), [("1.1", True), ("2", False)])
async def test_a_refused_body_closes_an_http1_connection(http_version, closes):
    server = FakeServer([b"x" * 60, b"x" * 60, b"x" * 60])

    async def app(scope, receive, send):
        with pytest.raises(HTTPException, match="too large"):
            await read_body(receive)
        await respond(send, 413)

    scope = {**http_scope(), "http_version": http_version}
    await serve_request(
        app, scope, server.receive, server.send, limits=RequestLimits(max_body_size=100)
    )
    headers = server.sent[0]["headers"]
    assert ((b"connection", b"close") in headers) is closes


async def test_slow_body_gets_408(autojump_clock):
    async def receive():
        await trio.sleep(1000)
        return {"type": "http.request", "body": b"late"}

    errors = []
    sent = []

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):
        try:
            await receive()
        except HTTPException as exc:
            errors.append(exc.status_code)
        await respond(send)

    await serve_request(app, http_scope(), receive, send, limits=RequestLimits(body_timeout=5))
    assert errors == [408]


class ChannelServer:
    """A server whose ``receive`` is a Trio memory channel's, as hypercorn's trio worker gives."""

    def __init__(self) -> None:
        self.to_app, self.app_inbox = trio.open_memory_channel[dict](10)
        self.sent: list[dict] = []

    def queue(self, body: bytes, *, more_body: bool = False) -> None:
        self.to_app.send_nowait({"type": "http.request", "body": body, "more_body": more_body})

    async def send(self, message: dict) -> None:
        self.sent.append(message)

    async def serve(self, app, limits: RequestLimits, headers=None) -> None:
        await serve_with_watchdog(app, self.app_inbox.receive, self.send, limits, headers)


async def serve_with_watchdog(app, receive, send, limits: RequestLimits, headers=None) -> None:
    """Serve one request as TrioAPI does under a lifespan: with a watchdog, no pump task."""
    async with trio.open_nursery() as app_nursery:
        with trio.fail_after(100):  # a request left stuck fails the test
            await serve_request(
                app,
                http_scope(headers),
                receive,
                send,
                limits=limits,
                app_nursery=app_nursery,
                watchdog=RequestWatchdog(app_nursery),
            )
        app_nursery.cancel_scope.cancel()  # the watchdog


async def test_a_body_the_server_already_queued_is_read_without_waiting():
    # Inside an already-cancelled scope, a read that waited (a checkpoint)
    # would raise Cancelled: a queued body is taken at once instead.
    server = ChannelServer()
    server.queue(b"ab", more_body=True)
    server.queue(b"c")
    seen = []

    async def app(scope, receive, send):
        with trio.CancelScope() as cancelled:
            cancelled.cancel()
            seen.append(await read_body(receive))
        await respond(send)

    await server.serve(app, RequestLimits())
    assert seen == [b"abc"]
    assert server.sent[1]["body"] == b"ok"


async def test_a_queued_body_is_still_held_to_the_size_limit():
    server = ChannelServer()
    server.queue(b"x" * 60, more_body=True)
    server.queue(b"x" * 60)
    errors = []

    async def app(scope, receive, send):
        with pytest.raises(HTTPException) as refused:
            await read_body(receive)
        errors.append(refused.value.status_code)
        await respond(send, 413)

    await server.serve(app, RequestLimits(max_body_size=100))
    assert errors == [413]


async def test_the_read_deadline_counts_from_the_first_read_that_waits(autojump_clock):
    server = ChannelServer()
    server.queue(b"head", more_body=True)  # the rest never comes
    events = []

    async def app(scope, receive, send):
        events.append((await receive())["body"])
        await trio.sleep(30)  # the app is busy, not the client slow
        try:
            await receive()
        except HTTPException as exc:
            events.append((exc.status_code, trio.current_time()))
        await respond(send, 408)

    await server.serve(app, RequestLimits(body_timeout=5))
    assert events == [b"head", (408, pytest.approx(35))]


async def test_once_the_declared_bytes_are_in_the_end_of_body_is_awaited_without_deadline(
    autojump_clock,
):
    # Hypercorn follows a body with an empty end-of-body message of its
    # own; waiting for it is not waiting for the client.
    server = ChannelServer()
    server.queue(b"abcd", more_body=True)
    seen = []

    async def end_of_body_later():
        await trio.sleep(20)
        server.queue(b"")

    async def app(scope, receive, send):
        seen.append(await read_body(receive))
        await respond(send)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(end_of_body_later)
        await server.serve(app, RequestLimits(body_timeout=5), [(b"content-length", b"4")])
    assert seen == [b"abcd"]


async def test_a_body_short_of_its_declared_length_is_still_held_to_the_deadline(
    autojump_clock,
):
    server = ChannelServer()
    server.queue(b"abc", more_body=True)  # one byte short, and then nothing
    errors = []

    async def app(scope, receive, send):
        try:
            await read_body(receive)
        except HTTPException as exc:
            errors.append((exc.status_code, trio.current_time()))
        await respond(send, 408)

    await server.serve(app, RequestLimits(body_timeout=5), [(b"content-length", b"4")])
    assert errors == [(408, pytest.approx(5))]


async def test_a_queued_disconnect_cancels_the_handler(autojump_clock):
    server = ChannelServer()
    server.to_app.send_nowait({"type": "http.disconnect"})
    events = []

    async def app(scope, receive, send):
        events.append((await receive())["type"])
        try:
            await trio.sleep(10)
        except trio.Cancelled:
            events.append("cancelled")
            raise

    await server.serve(app, RequestLimits())
    assert events == ["http.disconnect", "cancelled"]
    assert trio.current_time() == 0


async def test_a_request_past_watch_after_notices_a_disconnect_without_a_task(
    autojump_clock, monkeypatch
):
    starts = []
    monkeypatch.setattr(ReceivePump, "start", lambda self, nursery, **kw: starts.append(self))
    server = ChannelServer()
    server.queue(b"", more_body=False)
    events = []

    async def app(scope, receive, send):
        try:
            await trio.sleep(0.5)  # past WATCH_AFTER, short of TASK_AFTER
        except trio.Cancelled:
            events.append(("cancelled", trio.current_time()))
            raise

    async def disconnect_later():
        await trio.sleep(0.21)
        server.to_app.send_nowait({"type": "http.disconnect"})

    async with trio.open_nursery() as nursery:
        nursery.start_soon(disconnect_later)
        await server.serve(app, RequestLimits())
    # Noticed at the watchdog's next tick, by polling the server's queue.
    assert len(events) == 1
    assert 0.21 <= events[0][1] <= 0.21 + WATCH_AFTER / 2
    assert starts == []


async def test_body_taken_by_the_watchdog_poll_reaches_the_app_in_order(autojump_clock):
    server = ChannelServer()
    received = []

    async def app(scope, receive, send):
        await trio.sleep(0.3)  # the watchdog polls meanwhile and keeps what it takes
        while True:
            message = await receive()
            received.append(message["body"])
            if not message.get("more_body"):
                break
        await respond(send, 200)

    for chunk in (b"a", b"b"):
        server.queue(chunk, more_body=True)
    server.queue(b"c", more_body=False)
    await server.serve(app, RequestLimits(), [(b"content-length", b"3")])
    assert received == [b"a", b"b", b"c"]
    assert server.sent[0]["status"] == 200


async def test_an_http2_request_without_body_ends_without_a_reading_task():
    server = ChannelServer()
    server.queue(b"", more_body=False)  # hypercorn queues it with an HTTP/2 request's head
    context = RequestContext(RequestLimits(), None, {})
    pump = ReceivePump(server.app_inbox.receive, context, {"headers": [], "http_version": "2"})
    async with trio.open_nursery() as nursery:
        pump.discard_rest(nursery)
        assert not pump.started
    assert pump.stop_feeding_app() is False  # nothing left to drain


async def test_client_disconnect_cancels_handler_and_cleanup_runs(autojump_clock):
    server = FakeServer([b""], disconnect_after=1.0)
    events = []

    async def app(scope, receive, send):
        try:
            await trio.sleep(100)
            events.append("finished")
        except trio.Cancelled:
            events.append("cancelled")
            raise
        finally:
            events.append("finally")

    await serve_request(app, http_scope(), server.receive, server.send, limits=RequestLimits())
    assert events == ["cancelled", "finally"]
    assert trio.current_time() == pytest.approx(1.0)
    assert server.sent == []


async def test_disconnect_does_not_cancel_when_switched_off(autojump_clock):
    server = FakeServer([b""], disconnect_after=1.0)
    events = []

    async def app(scope, receive, send):
        await trio.sleep(5)
        events.append("finished")
        assert get_request_context(scope).client_disconnected
        await respond(send)

    limits = RequestLimits(cancel_on_disconnect=False)
    await serve_request(app, http_scope(), server.receive, server.send, limits=limits)
    assert events == ["finished"]


class WindowlessServer(FakeServer):
    """Takes the response start; the last body message waits for a window that never opens."""

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            await trio.sleep_forever()
        self.sent.append(message)


@pytest.mark.parametrize(
    ("cancel_on_disconnect", "send_timeout"), [(True, 30), (True, None), (False, 30)]
)
async def test_a_last_send_stuck_after_the_client_left_is_abandoned(
    autojump_clock, cancel_on_disconnect, send_timeout
):
    # The watchdog abandons it on the second tick that sees it (a finished
    # stream is reported gone from inside its last send, which then returns).
    server = WindowlessServer([b""], disconnect_after=1.0)
    events = []

    async def app(scope, receive, send):
        try:
            await respond(send)
        except trio.Cancelled:
            events.append("cancelled")
            raise

    limits = RequestLimits(cancel_on_disconnect=cancel_on_disconnect, send_timeout=send_timeout)
    await serve_with_watchdog(app, server.receive, server.send, limits)
    ended_at = trio.current_time()
    assert events == ["cancelled"]
    if cancel_on_disconnect:
        assert 1.0 < ended_at <= 1.0 + 2 * WATCH_AFTER
    else:  # switched off: given up on only at its send timeout
        assert 30.0 <= ended_at <= 30.0 + 2 * WATCH_AFTER


async def test_deadline_before_response_answers_504(autojump_clock):
    server = FakeServer([b""])

    async def app(scope, receive, send):
        await trio.sleep(10)

    await serve_request(
        app, http_scope(), server.receive, server.send, limits=RequestLimits(timeout=2)
    )
    assert server.sent[0]["status"] == 504
    assert server.sent[1]["body"] == b'{"detail":"Gateway Timeout"}'
    assert trio.current_time() == pytest.approx(2.0)


async def test_deadline_after_response_start_ends_the_stream(autojump_clock):
    server = FakeServer([b""])

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            await send({"type": "http.response.body", "body": b"tick", "more_body": True})
            await trio.sleep(1)

    await serve_request(
        app, http_scope(), server.receive, server.send, limits=RequestLimits(timeout=3.5)
    )
    bodies = [m for m in server.sent if m["type"] == "http.response.body"]
    assert len(bodies) == 4
    assert all(m["status"] != 504 for m in server.sent if m["type"] == "http.response.start")


async def test_work_after_the_response_is_not_bound_by_the_deadline(autojump_clock):
    server = FakeServer([b""])
    events = []

    async def app(scope, receive, send):
        await respond(send)
        await trio.sleep(10)  # a background task
        events.append("background done")

    await serve_request(
        app, http_scope(), server.receive, server.send, limits=RequestLimits(timeout=1)
    )
    assert events == ["background done"]


async def test_cleanups_run_last_in_first_out_even_when_cancelled(autojump_clock):
    server = FakeServer([b""], disconnect_after=1)
    events = []

    async def app(scope, receive, send):
        context = get_request_context(scope)

        async def close(name):
            await trio.sleep(0.1)  # a checkpoint inside a cancelled request still runs
            events.append(name)

        context.add_cleanup(lambda: close("first"))
        context.add_cleanup(lambda: close("second"))
        await trio.sleep_forever()

    await serve_request(app, http_scope(), server.receive, server.send, limits=RequestLimits())
    assert events == ["second", "first"]


async def test_unread_body_is_drained_after_the_app_returns():
    server = FakeServer([b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h"])

    async def app(scope, receive, send):
        await respond(send)

    chunked = http_scope([(b"transfer-encoding", b"chunked")])
    with trio.fail_after(5):
        await serve_request(app, chunked, server.receive, server.send, limits=RequestLimits())
    assert server.chunks == []


async def test_request_nursery_tasks_finish_before_the_request_ends():
    server = FakeServer([b""])
    events = []

    async def app(scope, receive, send):
        async def child():
            await trio.sleep(0.01)
            events.append("child")

        assert get_request_context(scope).request_nursery is None  # opened on demand
        async with open_request_nursery(scope):
            get_request_context(scope).request_nursery.start_soon(child)
            await respond(send)
            events.append("responded")
        events.append("nursery closed")

    await serve_request(app, http_scope(), server.receive, server.send, limits=RequestLimits())
    assert events == ["responded", "child", "nursery closed"]


async def test_request_nursery_tasks_are_cancelled_by_a_disconnect(autojump_clock):
    server = FakeServer([b""], disconnect_after=1.0)
    events = []

    async def app(scope, receive, send):
        async def child():
            try:
                await trio.sleep_forever()
            finally:
                events.append("child cancelled")

        async with open_request_nursery(scope):
            get_request_context(scope).request_nursery.start_soon(child)
            await trio.sleep_forever()

    await serve_request(app, http_scope(), server.receive, server.send, limits=RequestLimits())
    assert events == ["child cancelled"]


async def test_single_error_leaves_the_nursery_unwrapped():
    with pytest.raises(ValueError, match="boom"):
        async with open_scope_nursery():
            raise ValueError("boom")


async def test_only_the_nurserys_own_level_comes_off_a_group_the_code_raised():
    error = ValueError("boom")
    with pytest.raises(ExceptionGroup) as info:
        async with open_scope_nursery():
            raise ExceptionGroup("the app's own", [error])
    assert (info.value.message, info.value.exceptions) == ("the app's own", (error,))


async def test_an_error_beside_cancelled_sibling_tasks_leaves_as_itself():
    error = ValueError("boom")
    with pytest.raises(ValueError) as info:
        async with open_scope_nursery() as nursery:
            nursery.start_soon(trio.sleep_forever)
            await trio.testing.wait_all_tasks_blocked()
            raise error
    assert info.value is error
    assert info.value.__context__ is None  # the group taken off is not its context


async def test_a_strict_nursery_keeps_its_group_for_the_boundary_to_take_off():
    error = ValueError("boom")
    with pytest.RaisesGroup(ValueError) as info:
        async with open_scope_nursery(collapse=False):
            raise error
    assert collapse_own_groups(info.value) is error
    users_group = ExceptionGroup("the app's own", [error])
    assert collapse_own_groups(users_group) is users_group


async def test_two_errors_leave_as_a_group():
    async def fail(message):
        raise KeyError(message)

    with pytest.RaisesGroup(KeyError, KeyError):
        async with open_scope_nursery() as nursery:
            nursery.start_soon(fail, "a")
            nursery.start_soon(fail, "b")


def test_single_leaf_looks_through_nested_groups():
    inner = ValueError("x")
    group = ExceptionGroup("outer", [ExceptionGroup("inner", [inner])])
    assert single_leaf(group) is inner
    assert single_leaf(ExceptionGroup("two", [ValueError(), KeyError()])) is None


async def test_remaining_time_counts_down(autojump_clock):
    server = FakeServer([b""])
    seen = []

    async def app(scope, receive, send):
        context = get_request_context(scope)
        seen.append(context.remaining_time())
        await trio.sleep(3)
        seen.append(context.remaining_time())
        context.set_timeout(None)
        seen.append(context.remaining_time())
        await respond(send)

    await serve_request(
        app, http_scope(), server.receive, server.send, limits=RequestLimits(timeout=10)
    )
    assert seen == [pytest.approx(10), pytest.approx(7), math.inf]


async def test_a_finished_request_leaves_no_context_in_the_scope():
    server = FakeServer([b""])
    scope = http_scope()
    seen = []

    async def app(scope, receive, send):
        seen.append(get_request_context(scope))
        await respond(send)

    await serve_request(app, scope, server.receive, server.send, limits=RequestLimits())
    assert seen[0] is not None
    assert get_request_context(scope) is None
    assert seen[0].request_cancel_scope is None  # no cycle back to the finished request


async def test_a_nested_call_puts_the_outer_context_back():
    server = FakeServer([b""])
    contexts = []

    async def inner(scope, receive, send):
        contexts.append(("inner", get_request_context(scope)))
        await respond(send)

    async def outer(scope, receive, send):
        contexts.append(("outer", get_request_context(scope)))
        await serve_request(inner, scope, receive, send, limits=RequestLimits())
        contexts.append(("after", get_request_context(scope)))

    await serve_request(outer, http_scope(), server.receive, server.send, limits=RequestLimits())
    (_, outer_context), (_, inner_context), (_, after) = contexts
    assert inner_context is not outer_context
    assert after is outer_context


async def test_a_request_after_the_app_nursery_closed_is_still_served():
    async with trio.open_nursery() as app_nursery:
        pass  # closed from here on: shutdown has begun
    server = FakeServer([b""])

    async def app(scope, receive, send):
        await respond(send, body=b"late")

    await serve_request(
        app, http_scope(), server.receive, server.send,
        limits=RequestLimits(), app_nursery=app_nursery, watchdog=RequestWatchdog(app_nursery),
    )  # fmt: skip
    assert server.sent[-1]["body"] == b"late"
