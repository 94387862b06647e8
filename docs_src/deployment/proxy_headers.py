from trioapi import Request, TrioAPI
from trioapi.middleware.proxy_headers import ProxyHeadersMiddleware

app = TrioAPI()
# `trioapi run` installs this middleware itself (--forwarded-allow-ips); an app
# served some other way adds it, naming the proxies it trusts.
app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=["127.0.0.1", "10.0.0.0/8"])


@app.get("/whoami")
async def whoami(request: Request):
    return {"client": request.client.host if request.client else None, "url": str(request.url)}
