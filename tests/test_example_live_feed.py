"""examples/live_feed.py: posts reach watchers as server-sent events."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import trio

from examples.live_feed import Feed, PostIn, app
from tests.serving import run_hypercorn
from tests.sse_client import next_events
from trioapi.sse import KEEPALIVE_COMMENT, PING_INTERVAL
from trioapi.testing import AsyncTestClient


def post_event(post_id: int, author: str, text: str) -> str:
    data = json.dumps({"author": author, "text": text, "id": post_id}, separators=(",", ":"))
    return f"event: post\ndata: {data}\nid: {post_id}"


async def test_watcher_gets_the_backlog_then_live_posts_and_leaves_cleanly():
    async with AsyncTestClient(app) as client:
        feed: Feed = client.app_state["feed"]
        created = await client.post("/posts", json={"author": "ann", "text": "first"})
        assert created.status_code == 201
        assert created.json() == {"author": "ann", "text": "first", "id": 1}
        async with client.stream("GET", "/feed") as response:
            lines = response.aiter_lines()
            assert await next_events(lines, 1) == [post_event(1, "ann", "first")]
            assert feed.watcher_count == 1
            await client.post("/posts", json={"author": "bob", "text": "live"})
            assert await next_events(lines, 1) == [post_event(2, "bob", "live")]
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert feed.watcher_count == 0


async def test_reconnecting_watcher_resumes_after_last_event_id():
    async with AsyncTestClient(app) as client:
        for text in ("one", "two", "three"):
            await client.post("/posts", json={"author": "ann", "text": text})
        headers = {"Last-Event-ID": "1"}
        async with client.stream("GET", "/feed", headers=headers) as response:
            events = await next_events(response.aiter_lines(), 2)
    assert events == [post_event(2, "ann", "two"), post_event(3, "ann", "three")]


async def test_empty_post_is_refused_with_422():
    async with AsyncTestClient(app) as client:
        response = await client.post("/posts", json={"author": "ann", "text": ""})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "text"]


async def test_closing_the_feed_at_shutdown_ends_open_streams():
    async with AsyncTestClient(app) as client:
        await client.post("/posts", json={"author": "ann", "text": "bye"})
        async with client.stream("GET", "/feed") as response:
            lines = response.aiter_lines()
            assert len(await next_events(lines, 1)) == 1
            client.app_state["feed"].close()
            # The stream ends by itself: nothing more, then the end of the body.
            assert await next_events(lines, 1) == []


async def test_idle_feed_sends_a_ping(autojump_clock: Any):
    async with AsyncTestClient(app) as client:
        async with client.stream("GET", "/feed") as response:
            start = trio.current_time()
            events = await next_events(response.aiter_lines(), 1)
            waited = trio.current_time() - start
    assert events == [KEEPALIVE_COMMENT.decode().strip()]
    assert waited == pytest.approx(PING_INTERVAL)


async def test_slow_watcher_is_dropped_instead_of_blocking_publish():
    feed = Feed(buffer=2)
    with feed.watch(after=None) as (backlog, live):
        for text in ("a", "b", "c"):
            feed.publish(PostIn(author="ann", text=text))  # never waits
        received = [post.text async for post in live]
    assert backlog == []
    assert received == ["a", "b"]  # then its stream ended; "c" waits in the history
    assert feed.watcher_count == 0
    assert [post.text for post in feed.posts] == ["a", "b", "c"]


async def test_live_feed_served_by_hypercorn_to_an_httpx_client():
    async with run_hypercorn(app) as url, httpx.AsyncClient(base_url=url) as client:
        await client.post("/posts", json={"author": "ann", "text": "over tcp"})
        async with client.stream("GET", "/feed") as response:
            lines = response.aiter_lines()
            first = await next_events(lines, 1)
            await client.post("/posts", json={"author": "bob", "text": "live"})
            second = await next_events(lines, 1)
    assert first == [post_event(1, "ann", "over tcp")]
    assert second == [post_event(2, "bob", "live")]
