"""HTTP/2 served for real: multiplexing, TLS with ALPN, early hints, trailers and push."""

from __future__ import annotations

import hashlib
import ssl
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import httpx
import pytest
import trio
import trustme

from tests.serving import run_hypercorn
from trioapi import Request, TrioAPI
from trioapi._extensions import resolve_trailers, send_early_hints
from trioapi.responses import PlainTextResponse, StreamingResponse


def build_app() -> TrioAPI:
    app = TrioAPI()

    @app.get("/slow/{n}")
    async def slow(n: int, request: Request):
        # Every request waits a little so all 50 are in flight at once.
        await trio.sleep(0.05)
        return {"n": n, "http_version": request.scope["http_version"]}

    @app.get("/page")
    async def page(request: Request):
        sent = await request.send_early_hints(
            ["</app.css>; rel=preload; as=style", "</app.js>; rel=preload; as=script"]
        )
        return PlainTextResponse(f"early hints sent: {sent}")

    @app.get("/signed")
    async def signed():
        digest = hashlib.sha256()

        async def body():
            for part in (b"alpha ", b"beta ", b"gamma"):
                digest.update(part)
                yield part

        return StreamingResponse(
            body(),
            media_type="text/plain",
            headers={"trailer": "x-checksum"},
            trailers=lambda: {"x-checksum": digest.hexdigest()},
        )

    @app.get("/with-push")
    async def with_push(request: Request):
        await request.send_push_promise("/pushed.css")
        return PlainTextResponse("main")

    @app.get("/pushed.css")
    async def pushed():
        return PlainTextResponse("body { color: red }", media_type="text/css")

    return app


async def test_fifty_concurrent_requests_share_one_h2c_connection():
    async with run_hypercorn(build_app()) as url:
        transports = set()
        async with httpx.AsyncClient(base_url=url, http1=False, http2=True) as client:
            results: dict[int, tuple[str, dict]] = {}

            async def fetch(n: int) -> None:
                response = await client.get(f"/slow/{n}")
                results[n] = (response.http_version, response.json())
                transports.add(response.extensions["network_stream"])

            async with trio.open_nursery() as nursery:
                for n in range(50):
                    nursery.start_soon(fetch, n)
    assert results == {n: ("HTTP/2", {"n": n, "http_version": "2"}) for n in range(50)}
    assert len(transports) == 1


async def test_tls_with_alpn_negotiates_h2(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with run_hypercorn(build_app(), certfile=str(cert_file), keyfile=str(key_file)) as url:
        assert url.startswith("https://")
        async with httpx.AsyncClient(base_url=url, http2=True, verify=client_context) as client:
            response = await client.get("/slow/3")
            network_stream = response.extensions["network_stream"]
            alpn = network_stream.get_extra_info("ssl_object").selected_alpn_protocol()
    assert response.http_version == "HTTP/2"
    assert alpn == "h2"
    assert response.json() == {"n": 3, "http_version": "2"}


class H2Client:
    """A bare HTTP/2 client over a Trio socket, to see 1xx responses and trailers."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))

    async def start(self) -> None:
        self.conn.initiate_connection()
        await self.stream.send_all(self.conn.data_to_send())

    async def get(self, path: str, *, te_trailers: bool = True) -> list[h2.events.Event]:
        """Send GET ``path`` and collect its stream's events until the stream ends."""
        stream_id = self.conn.get_next_available_stream_id()
        headers = [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "t")]
        if te_trailers:
            headers.append(("te", "trailers"))
        self.conn.send_headers(stream_id, headers, end_stream=True)
        await self.stream.send_all(self.conn.data_to_send())
        events: list[h2.events.Event] = []
        while not any(
            isinstance(e, h2.events.StreamEnded) and e.stream_id == stream_id for e in events
        ):
            data = await self.stream.receive_some()
            assert data, "server closed the connection"
            for event in self.conn.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    self.conn.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
                events.append(event)
            await self.stream.send_all(self.conn.data_to_send())
        return events


async def h2_get(url: str, path: str, **options: bool) -> list[h2.events.Event]:
    parts = urlsplit(url)
    async with await trio.open_tcp_stream(parts.hostname, parts.port) as stream:
        client = H2Client(stream)
        await client.start()
        with trio.fail_after(5):
            return await client.get(path, **options)


def decoded(headers) -> list[tuple[str, str]]:
    return [
        (n.decode() if isinstance(n, bytes) else n, v.decode() if isinstance(v, bytes) else v)
        for n, v in headers
    ]


async def test_h2_client_sees_early_hints_before_the_response():
    async with run_hypercorn(build_app()) as url:
        events = await h2_get(url, "/page")
    ours = [e for e in events if getattr(e, "stream_id", None) == 1]
    kinds = [type(e).__name__ for e in ours]
    assert kinds[:2] == ["InformationalResponseReceived", "ResponseReceived"]
    hints = decoded(ours[0].headers)
    assert (":status", "103") in hints
    assert [v for n, v in hints if n == "link"] == [
        "</app.css>; rel=preload; as=style",
        "</app.js>; rel=preload; as=script",
    ]
    body = b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived))
    assert body == b"early hints sent: True"


async def test_h2_client_sees_trailers_after_the_body():
    async with run_hypercorn(build_app()) as url:
        events = await h2_get(url, "/signed")
    ours = [e for e in events if getattr(e, "stream_id", None) == 1]
    kinds = [type(e).__name__ for e in ours]
    assert kinds[0] == "ResponseReceived"
    assert kinds[-2:] == ["TrailersReceived", "StreamEnded"]
    body = b"".join(e.data for e in ours if isinstance(e, h2.events.DataReceived))
    assert body == b"alpha beta gamma"
    trailers = decoded(ours[-2].headers)
    assert trailers == [("x-checksum", hashlib.sha256(b"alpha beta gamma").hexdigest())]


async def test_no_trailers_when_the_request_does_not_accept_them():
    async with run_hypercorn(build_app()) as url:
        events = await h2_get(url, "/signed", te_trailers=False)
    kinds = [type(e).__name__ for e in events if getattr(e, "stream_id", None) == 1]
    assert "TrailersReceived" not in kinds
    assert kinds[-1] == "StreamEnded"


async def test_h2_client_receives_a_pushed_response():
    async with run_hypercorn(build_app()) as url:
        events = await h2_get(url, "/with-push")
    promises = [e for e in events if isinstance(e, h2.events.PushedStreamReceived)]
    assert len(promises) == 1
    assert (":path", "/pushed.css") in decoded(promises[0].headers)


async def test_http11_gets_neither_early_hints_nor_trailers():
    async with run_hypercorn(build_app()) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            page = await client.get("/page")
            signed = await client.get("/signed")
            pushed = await client.get("/with-push")
    assert page.http_version == "HTTP/1.1"
    assert page.text == "early hints sent: False"
    assert signed.text == "alpha beta gamma"
    assert "x-checksum" not in signed.headers
    assert pushed.text == "main"


# --- the helpers without a server ------------------------------------------


def recorder():
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    return sent, send


async def test_early_hints_are_a_no_op_without_the_extension():
    sent, send = recorder()
    assert await send_early_hints({"type": "http", "extensions": {}}, send, ["</a.css>"]) is False
    assert await send_early_hints({"type": "http"}, send, ["</a.css>"]) is False
    assert sent == []


async def test_early_hints_refuse_a_link_that_would_split_the_response():
    _, send = recorder()
    scope = {"type": "http", "extensions": {"http.response.early_hint": {}}}
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        await send_early_hints(scope, send, ["</a.css>\r\nx-evil: 1"])


async def test_trailers_may_come_from_an_async_callable_or_pairs():
    async def compute():
        await trio.lowlevel.checkpoint()
        return [("X-Sum", "1"), ("x-more", "2")]

    assert await resolve_trailers(compute) == [(b"x-sum", b"1"), (b"x-more", b"2")]
    assert await resolve_trailers({"a": "b"}) == [(b"a", b"b")]


async def test_streaming_response_skips_trailers_the_server_cannot_send():
    sent, send = recorder()

    async def receive():
        await trio.sleep_forever()

    scope = {"type": "http", "headers": [(b"te", b"trailers")], "extensions": {}}
    response = StreamingResponse(iter([b"a"]), trailers={"x-a": "1"})
    await response(scope, receive, send)
    assert [m["type"] for m in sent] == ["http.response.start"] + ["http.response.body"] * 2
    assert "trailers" not in sent[0]
