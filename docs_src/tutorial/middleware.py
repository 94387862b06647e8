import trio

from trioapi import Request, TrioAPI
from trioapi.middleware.cors import CORSMiddleware

app = TrioAPI()
app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://app.example.com"],
    allow_methods=["GET", "POST"],
    allow_headers=["Authorization"],
)


@app.middleware("http")
async def add_process_time(request: Request, call_next):
    start = trio.current_time()
    response = await call_next(request)
    response.headers["X-Process-Time"] = f"{trio.current_time() - start:.3f}"
    return response


@app.get("/")
async def root():
    await trio.sleep(0.25)
    return {"hello": "world"}
