"""Concurrent dependency resolution: independent async dependencies run together.

    hypercorn --worker-class trio examples.trio_features.concurrent_dependencies:app

``current_user`` and ``feature_flags`` do not need each other, so trioapi
resolves them at the same time: ``GET /home`` takes 100 ms, not 200.
``TrioAPI(concurrent_dependencies=False)`` resolves them one after the other.
"""

from typing import Annotated

import trio

from trioapi import Depends, TrioAPI

app = TrioAPI()


async def current_user() -> str:
    await trio.sleep(0.1)  # a session store round trip
    return "ann"


async def feature_flags() -> dict[str, bool]:
    await trio.sleep(0.1)  # a config service round trip
    return {"new_home": True}


@app.get("/home")
async def home(
    user: Annotated[str, Depends(current_user)],
    flags: Annotated[dict[str, bool], Depends(feature_flags)],
):
    return {"user": user, "flags": flags}
