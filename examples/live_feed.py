"""A live feed over server-sent events: post messages, watch them arrive.

    hypercorn --worker-class trio examples.live_feed:app
    curl -N localhost:8000/feed                       # watch (browser: EventSource)
    curl -X POST localhost:8000/posts -H 'content-type: application/json' \\
         -d '{"author": "ann", "text": "hello"}'

Each watcher has its own small memory channel; ``publish`` never waits for
a slow watcher: one whose buffer is full is dropped, its stream ends, and
its ``EventSource`` reconnects with ``Last-Event-ID`` and catches up from the
history. The feed lives as long as the app (made in the lifespan); at
shutdown it closes every watcher's channel, so open streams end by
themselves.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated

import trio
from pydantic import BaseModel, Field

from trioapi import Depends, Header, Request, TrioAPI, status
from trioapi.sse import EventSourceResponse, ServerSentEvent


class PostIn(BaseModel):
    author: str = Field(min_length=1, max_length=50)
    text: str = Field(min_length=1, max_length=500)


class Post(PostIn):
    id: int


class Feed:
    """The recent posts, and one memory channel per watcher.

    Args:
        history: How many recent posts a reconnecting watcher can catch up on.
        buffer: Posts held for a watcher that has not read them yet.
    """

    def __init__(self, history: int = 1000, buffer: int = 16) -> None:
        self.posts: deque[Post] = deque(maxlen=history)
        self.buffer = buffer
        self._watchers: set[trio.MemorySendChannel[Post]] = set()
        self._next_id = 1

    @property
    def watcher_count(self) -> int:
        """How many streams are watching."""
        return len(self._watchers)

    def publish(self, post_in: PostIn) -> Post:
        """Add a post and hand it to every watcher. Not a checkpoint: never waits."""
        post = Post(id=self._next_id, **post_in.model_dump())
        self._next_id += 1
        self.posts.append(post)
        for channel in list(self._watchers):
            try:
                channel.send_nowait(post)
            except trio.WouldBlock:
                # Too slow: end its stream rather than hold everyone back.
                # The client reconnects with Last-Event-ID and catches up.
                self._drop(channel)
        return post

    @contextmanager
    def watch(
        self, after: int | None
    ) -> Iterator[tuple[list[Post], trio.MemoryReceiveChannel[Post]]]:
        """The posts after id ``after`` (all kept ones if ``None``), then the live ones.

        No checkpoint between the snapshot and the subscription, so no post
        falls between the two or comes in both.
        """
        send, receive = trio.open_memory_channel[Post](self.buffer)
        backlog = [post for post in self.posts if after is None or post.id > after]
        self._watchers.add(send)
        try:
            with receive:
                yield backlog, receive
        finally:
            self._drop(send)

    def close(self) -> None:
        """End every watcher's stream (at shutdown)."""
        for channel in list(self._watchers):
            self._drop(channel)

    def _drop(self, channel: trio.MemorySendChannel[Post]) -> None:
        self._watchers.discard(channel)
        channel.close()


@asynccontextmanager
async def lifespan(app: TrioAPI) -> AsyncIterator[dict[str, Feed]]:
    feed = Feed()
    try:
        yield {"feed": feed}
    finally:
        feed.close()


app = TrioAPI(title="Live feed", lifespan=lifespan)


def get_feed(request: Request) -> Feed:
    """The app's feed, from the lifespan state."""
    feed: Feed = request.state.feed
    return feed


FeedDep = Annotated[Feed, Depends(get_feed)]


@app.post("/posts", status_code=status.HTTP_201_CREATED)
async def create_post(post: PostIn, feed: FeedDep) -> Post:
    """Publish a post to everyone watching."""
    return feed.publish(post)


@app.get("/feed", response_class=EventSourceResponse)
async def watch_feed(
    feed: FeedDep, last_event_id: Annotated[int | None, Header()] = None
) -> AsyncIterable[ServerSentEvent]:
    """The posts after ``Last-Event-ID`` (all kept ones without it), then live ones."""
    with feed.watch(after=last_event_id) as (backlog, live):
        for post in backlog:
            yield ServerSentEvent(data=post, event="post", id=str(post.id))
        async for post in live:
            yield ServerSentEvent(data=post, event="post", id=str(post.id))
