from trioapi import TrioAPI

app = TrioAPI()


@app.get("/")
async def home():
    return {"hello": "world"}


# --8<-- [start:instrument]
from trioapi.metrics import instrument  # noqa: E402

metrics = instrument(app)  # GET /metrics; not in the OpenAPI document
# --8<-- [end:instrument]
