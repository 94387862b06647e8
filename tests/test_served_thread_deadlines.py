"""Issue 12's repro through real hypercorn: a deadline over a worker thread.

The route's deadline passes while its thread runs. Before the fix, hypercorn's
trio worker died (h11 ``LocalProtocolError``: a second response start after
the first was cut half-way) and HTTP/2 requests got no answer. Now: 504 at the
deadline, while the threads still run, and the server keeps serving.
"""

import threading

import httpx
import pytest
import trio

from tests.serving import run_hypercorn
from trioapi import TrioAPI

DEADLINE = 0.2


def build_app(release: threading.Event, returned: list[str]) -> TrioAPI:
    app = TrioAPI()

    def blocking(name: str) -> dict[str, bool]:
        release.wait(10)
        returned.append(name)
        return {"ok": True}

    @app.get("/thread", timeout=DEADLINE)
    async def thread():
        return await trio.to_thread.run_sync(blocking, "thread")

    @app.get("/sync", timeout=DEADLINE)
    def sync():
        return blocking("sync")

    @app.get("/alive")
    async def alive():
        return {"alive": True}

    return app


@pytest.mark.parametrize("http2", [False, True], ids=["http1.1", "http2"])
@pytest.mark.parametrize("path", ["/thread", "/sync"])
@pytest.mark.parametrize("at_once", [1, 20])
async def test_a_deadline_over_a_thread_answers_504_and_the_server_lives(http2, path, at_once):
    release = threading.Event()
    returned: list[str] = []
    async with (
        run_hypercorn(build_app(release, returned)) as url,
        httpx.AsyncClient(base_url=url, http1=not http2, http2=http2, timeout=5) as client,
    ):
        answers: list[tuple[int, bytes, int]] = []

        async def fetch() -> None:
            response = await client.get(path)
            # How many threads had returned when this answer came: none.
            answers.append((response.status_code, response.content, len(returned)))

        async with trio.open_nursery() as nursery:
            for _ in range(at_once):
                nursery.start_soon(fetch)
        alive = await client.get("/alive")
        release.set()
        assert alive.status_code == 200
        assert alive.json() == {"alive": True}
    # Answered at the deadline, before any thread returned (they wait for release).
    assert answers == [(504, b'{"detail":"Gateway Timeout"}', 0)] * at_once
    assert sorted(returned) == [path.removeprefix("/")] * at_once
