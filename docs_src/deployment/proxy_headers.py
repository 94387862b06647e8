from trioapi import Request, TrioAPI
from trioapi.types import ASGIApp, Receive, Scope, Send


class ProxyHeadersMiddleware:
    """Take the client's address and scheme from X-Forwarded-* set by a trusted proxy.

    Only a request whose direct peer is one of ``trusted`` is believed: from
    anyone else, the headers are ignored (anyone can send them).
    """

    def __init__(self, app: ASGIApp, trusted: set[str]) -> None:
        self.app = app  # named `app`: graceful shutdown finds the TrioAPI through it
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client")
        if scope["type"] in ("http", "websocket") and peer and peer[0] in self.trusted:
            headers = dict(scope["headers"])
            scope = dict(scope)  # a shallow copy: the lifespan's state stays shared
            if proto := headers.get(b"x-forwarded-proto"):
                secure = proto.decode("latin-1").split(",")[-1].strip() == "https"
                if scope["type"] == "websocket":
                    scope["scheme"] = "wss" if secure else "ws"
                else:
                    scope["scheme"] = "https" if secure else "http"
            if forwarded_for := headers.get(b"x-forwarded-for"):
                # The last address is the one our proxy saw; earlier ones are the client's word.
                scope["client"] = (forwarded_for.decode("latin-1").split(",")[-1].strip(), 0)
        await self.app(scope, receive, send)


api = TrioAPI()


@api.get("/whoami")
async def whoami(request: Request):
    return {"client": request.client.host if request.client else None, "url": str(request.url)}


app = ProxyHeadersMiddleware(api, trusted={"127.0.0.1"})  # serve this: main:app
