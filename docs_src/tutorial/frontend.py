from pathlib import Path

from trioapi import TrioAPI

app = TrioAPI()


@app.get("/api/items")
async def read_items() -> list[dict[str, str]]:
    return [{"name": "Plumbus"}]


# Built by the frontend's tooling (`npm run build` writes dist/): checked after
# every path operation above, whatever order they were declared in.
app.frontend("/", directory=Path(__file__).parent / "frontend_dist")
