# Before: a FastAPI app (the test of this page ports it with rename.py and runs it).
from typing import Annotated

import fastapi
from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse
from starlette.middleware.gzip import GZipMiddleware

app = FastAPI(title="Ported")
app.add_middleware(GZipMiddleware)


async def get_name(name: str = "world") -> str:
    return name


@app.get("/hello", response_class=PlainTextResponse)
async def hello(name: Annotated[str, Depends(get_name)]):
    if name == "nobody":
        raise fastapi.HTTPException(status_code=404, detail="Nobody is here")
    return f"Hello, {name}"
