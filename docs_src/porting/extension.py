"""An extension library adds a dependency to routes that are already registered.

What FastAPI extensions do by appending to ``route.dependant.dependencies``
and rebuilding ``route.app``, trioapi does with one public method:
``route.add_dependency()`` (``route.rebuild()`` after changing
``route.dependencies`` by hand).
"""

from typing import Annotated

from trioapi import Depends, Header, HTTPException, TrioAPI
from trioapi.routing import APIRoute


# --- the extension library ---------------------------------------------------
def require_api_key(x_api_key: Annotated[str, Header()]) -> None:
    if x_api_key != "secret":
        raise HTTPException(status_code=401, detail="Invalid API key")


def protect(app: TrioAPI, tag: str) -> None:
    """Require an API key on every route tagged ``tag``."""
    for route in app.routes:
        if isinstance(route, APIRoute) and tag in route.tags:
            # Validated and documented in OpenAPI as if it had been given in
            # dependencies=[...] (after the route's own), from the next request on.
            route.add_dependency(Depends(require_api_key))


# --- the application -----------------------------------------------------------
app = TrioAPI()


@app.get("/notes", tags=["private"])
async def list_notes() -> list[str]:
    return ["buy milk"]


@app.get("/health")
async def health() -> str:
    return "ok"


protect(app, "private")
