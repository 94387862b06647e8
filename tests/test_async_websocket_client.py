"""``AsyncTestClient.websocket_connect``: the async counterpart of TestClient's."""

from typing import Annotated

import pytest
import trio

from trioapi import Depends, HTTPException, Query, TrioAPI, WebSocket, WebSocketDisconnect
from trioapi.testing import AsyncTestClient, WebSocketDenialResponse


def make_app(log: list[str]) -> TrioAPI:
    app = TrioAPI()

    async def session():
        log.append("setup")
        yield "session"
        log.append("teardown")

    @app.websocket("/echo")
    async def echo(
        websocket: WebSocket,
        name: Annotated[str, Query()],
        dep: Annotated[str, Depends(session)],
    ):
        await websocket.accept(subprotocol="chat")
        await websocket.send_text(f"hello {name} ({dep})")
        try:
            while True:
                data = await websocket.receive_json()
                await websocket.send_json({"echo": data})
        except WebSocketDisconnect as exc:
            log.append(f"client left {exc.code}")

    @app.websocket("/bytes")
    async def echo_bytes(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_bytes((await websocket.receive_bytes())[::-1])
        await websocket.close(code=4000, reason="done")

    @app.websocket("/refuse")
    async def refuse(websocket: WebSocket):
        raise HTTPException(status_code=403, detail="no")

    return app


async def test_text_json_and_close_through_the_async_client():
    log: list[str] = []
    async with AsyncTestClient(make_app(log)) as client:
        async with client.websocket_connect("/echo?name=ann", subprotocols=["chat"]) as ws:
            assert ws.accepted_subprotocol == "chat"
            assert await ws.receive_text() == "hello ann (session)"
            await ws.send_json({"n": 1})
            assert await ws.receive_json() == {"echo": {"n": 1}}
    assert log == ["setup", "client left 1000", "teardown"]


async def test_bytes_and_server_close_code():
    async with AsyncTestClient(make_app([])) as client:
        async with client.websocket_connect("/bytes") as ws:
            await ws.send_bytes(b"abc")
            assert await ws.receive_bytes() == b"cba"
            with pytest.raises(WebSocketDisconnect) as closed:
                await ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (4000, "done")


async def test_bad_query_param_closes_with_1008():
    async with AsyncTestClient(make_app([])) as client:
        with pytest.raises(WebSocketDisconnect) as closed:
            async with client.websocket_connect("/echo"):
                pass  # pragma: no cover - the handshake fails
    assert closed.value.code == 1008


async def test_http_exception_before_accept_is_a_denial_response():
    async with AsyncTestClient(make_app([])) as client:
        with pytest.raises(WebSocketDenialResponse) as denied:
            async with client.websocket_connect("/refuse"):
                pass  # pragma: no cover - the handshake fails
    assert denied.value.status_code == 403
    assert denied.value.json() == {"detail": "no"}


async def test_websocket_connect_needs_an_open_client():
    client = AsyncTestClient(make_app([]))
    with pytest.raises(RuntimeError, match="async with AsyncTestClient"):
        client.websocket_connect("/echo")


async def test_a_session_cancelled_before_or_after_accept_tells_the_app_the_client_left():

    log: list[str] = []
    app = TrioAPI()

    @app.websocket("/slow")
    async def slow(websocket: WebSocket, accept: bool):
        if not accept:
            # The handshake is not answered yet when the client gives up.
            await websocket.receive()  # websocket.connect
            app.state.waiting.set()
            gone = await websocket.receive()
            log.append(f"{accept}: {gone['type']} {gone['code']}")
            return
        await websocket.accept()
        app.state.waiting.set()
        try:
            await websocket.receive_text()
        except WebSocketDisconnect as exc:
            log.append(f"{accept}: client left {exc.code}")

    with trio.fail_after(5):  # without the fix the app waits for ever, and the client with it
        await _cancel_both_sessions(app)
    assert log == ["True: client left 1000", "False: websocket.disconnect 1006"]


async def _cancel_both_sessions(app: TrioAPI) -> None:

    async with AsyncTestClient(app) as client:
        for accept in ("true", "false"):
            app.state.waiting = trio.Event()
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:

                    async def talk() -> None:
                        async with client.websocket_connect(f"/slow?accept={accept}"):
                            await trio.sleep_forever()

                    nursery.start_soon(talk)
                    await app.state.waiting.wait()
                    scope.cancel()
