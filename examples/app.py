"""The example app served by `make run`: a small notes API.

    make run        # hypercorn --worker-class trio examples.app:app on 127.0.0.1:8000
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
from pydantic import BaseModel, Field

from trioapi import HTTPException, Query, Request, TrioAPI
from trioapi.responses import PlainTextResponse, StreamingResponse


class NoteIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = ""


class Note(NoteIn):
    id: int


class ErrorDetail(BaseModel):
    detail: str


class NoteStore:
    """An in-memory store guarded by a Trio lock."""

    def __init__(self) -> None:
        self._notes: dict[int, Note] = {}
        self._next_id = 1
        self._lock = trio.Lock()

    async def add(self, note: NoteIn) -> Note:
        async with self._lock:
            stored = Note(id=self._next_id, **note.model_dump())
            self._notes[stored.id] = stored
            self._next_id += 1
            return stored

    def get(self, note_id: int) -> Note | None:
        return self._notes.get(note_id)

    def all(self) -> list[Note]:
        return list(self._notes.values())


@asynccontextmanager
async def lifespan(app: TrioAPI) -> AsyncIterator[dict[str, NoteStore]]:
    yield {"store": NoteStore()}


app = TrioAPI(title="Notes", lifespan=lifespan)


def get_store(request: Request) -> NoteStore:
    store: NoteStore = request.state.store
    return store


@app.get("/")
async def index() -> dict[str, str]:
    return {"message": "Hello from trioapi", "docs": "/docs"}


@app.get("/health", include_in_schema=False)
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@app.get("/notes", response_model=list[Note])
async def list_notes(request: Request) -> list[Note]:
    return get_store(request).all()


@app.post(
    "/notes",
    response_model=Note,
    status_code=201,
    # A body that is not UTF-8 JSON is answered 400 before validation, as in FastAPI.
    responses={400: {"model": ErrorDetail, "description": "Malformed body"}},
)
async def create_note(note: NoteIn, request: Request) -> Note:
    return await get_store(request).add(note)


@app.get(
    "/notes/{note_id}",
    response_model=Note,
    responses={404: {"model": ErrorDetail, "description": "Note not found"}},
)
async def read_note(note_id: int, request: Request) -> Note:
    note = get_store(request).get(note_id)
    if note is None:
        raise HTTPException(status_code=404, detail="Note not found")
    return note


@app.get("/countdown", response_class=PlainTextResponse)
async def countdown(start: int = Query(3, ge=0, le=100)) -> StreamingResponse:
    # Bounded, so that a client cannot hold a stream open for hours.
    async def ticks() -> AsyncIterator[str]:
        for value in range(start, -1, -1):
            yield f"{value}\n"
            await trio.sleep(0.01)

    return StreamingResponse(ticks(), media_type="text/plain")
