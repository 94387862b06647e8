"""An HTTP/2 response the app leaves unfinished is reset, through hypercorn (fix h2-reset, trioapi.server._h2_reset)."""

from __future__ import annotations

import trio

from tests.chaos_clients import H2Client, _open
from tests.serving import needs_fix, run_hypercorn
from trioapi import TrioAPI
from trioapi.responses import StreamingResponse


def build_app() -> TrioAPI:
    app = TrioAPI()

    @app.get("/cut", timeout=0.2)
    async def cut():
        async def body():
            yield b"first;"
            await trio.sleep_forever()  # the deadline ends the response mid-body

        return StreamingResponse(body())

    @app.get("/whole")
    async def whole():
        async def body():
            for index in range(3):
                yield f"part{index};".encode()

        return StreamingResponse(body())

    return app


@needs_fix("h2-reset")
async def test_a_stream_cut_by_its_deadline_is_reset_and_the_connection_serves_on():
    async with run_hypercorn(build_app()) as url, await _open(url) as stream:
        client = H2Client(stream)
        client.conn.initiate_connection()
        await client.flush()
        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.run_reader)
                cut = await client.wait_over(
                    await client.open_stream("GET", "/cut", body_length=None)
                )
                whole = await client.wait_over(
                    await client.open_stream("GET", "/whole", body_length=None)
                )
                nursery.cancel_scope.cancel()
    assert (cut.status, cut.body, cut.ended, cut.notes) == (
        200,
        b"first;",
        "cut",
        ["reset <ErrorCodes.INTERNAL_ERROR: 2>"],
    )
    assert (whole.status, whole.body, whole.ended, whole.notes) == (
        200,
        b"part0;part1;part2;",
        "complete",
        [],
    )


async def test_responses_that_end_are_never_reset():
    # The end of a response waits for its END_STREAM in hypercorn's send task
    # after the app has returned: those streams must not be taken for cut ones.
    async with run_hypercorn(build_app()) as url, await _open(url) as stream:
        client = H2Client(stream)
        client.conn.initiate_connection()
        await client.flush()
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.run_reader)
                ids = [
                    await client.open_stream("GET", "/whole", body_length=None) for _ in range(30)
                ]
                seen = [await client.wait_over(stream_id) for stream_id in ids]
                nursery.cancel_scope.cancel()
    assert {(s.status, s.body, s.ended, tuple(s.notes)) for s in seen} == {
        (200, b"part0;part1;part2;", "complete", ())
    }
