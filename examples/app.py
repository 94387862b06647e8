"""The example app served by `make run`: notes, users with their own items, a live feed.

    make run        # hypercorn --worker-class trio examples.app:app on 127.0.0.1:8000

The tutorial's finished app (docs/tutorial/): public notes kept in memory;
users who sign up, log in with OAuth2's password flow and get a JWT (PyJWT);
each user's items in SQLite, reached through worker threads with one
connection per request (a yield dependency); pagination; a file attached to
an item; a welcome line written by a background task; a server-sent-event
feed of a user's items; and a report with a deadline (``timeout=``).

Settings come from the environment: ``NOTES_DATABASE`` (the SQLite file; a
fresh temporary one by default) and ``NOTES_SECRET_KEY`` (the JWT signing
key; every worker process must share it).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import pathlib
import secrets
import sqlite3
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
import trio
from pydantic import BaseModel, Field

from trioapi import (
    BackgroundTasks,
    Depends,
    File,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    TrioAPI,
    UploadFile,
    status,
)
from trioapi.responses import PlainTextResponse, StreamingResponse
from trioapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from trioapi.sse import EventSourceResponse, ServerSentEvent

logger = logging.getLogger("examples.app")
SECRET_KEY = os.environ.get("NOTES_SECRET_KEY", "dev-only: set NOTES_SECRET_KEY in production")
ALGORITHM = "HS256"
TOKEN_LIFETIME = timedelta(hours=1)
MAX_ATTACHMENT = 5 * 1024 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, full_name TEXT NOT NULL,
    salt BLOB NOT NULL, password_hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL REFERENCES users(id),
    title TEXT NOT NULL, description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attachments (
    item_id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    filename TEXT NOT NULL, content_type TEXT NOT NULL, data BLOB NOT NULL);
"""


# -- models ------------------------------------------------------------------


class NoteIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = ""


class Note(NoteIn):
    id: int


class ErrorDetail(BaseModel):
    detail: str


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=40, pattern=r"^[a-z0-9_]+$")
    password: str = Field(min_length=8, max_length=200)
    full_name: str = Field(default="", max_length=200)


class User(BaseModel):
    id: int
    username: str
    full_name: str


class Token(BaseModel):
    access_token: str
    token_type: str


class ItemIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)


class Item(ItemIn):
    id: int
    owner_id: int


class ItemPage(BaseModel):
    items: list[Item]
    total: int
    skip: int
    limit: int


class Attachment(BaseModel):
    filename: str
    content_type: str
    size: int


# -- state made by the lifespan ----------------------------------------------


class NoteStore:
    """Public notes, in memory, guarded by a Trio lock."""

    def __init__(self) -> None:
        self._notes: dict[int, Note] = {}
        self._lock = trio.Lock()

    async def add(self, note: NoteIn) -> Note:
        async with self._lock:
            stored = Note(id=len(self._notes) + 1, **note.model_dump())
            self._notes[stored.id] = stored
            return stored

    def get(self, note_id: int) -> Note | None:
        return self._notes.get(note_id)

    def all(self) -> list[Note]:
        return list(self._notes.values())


class ItemFeed:
    """Hands each new item to the feeds of its owner; never waits for a slow reader."""

    def __init__(self) -> None:
        self._watchers: dict[int, set[trio.MemorySendChannel[Item]]] = {}

    def publish(self, item: Item) -> None:
        for channel in list(self._watchers.get(item.owner_id, ())):
            try:
                channel.send_nowait(item)
            except trio.WouldBlock:  # a reader that fell behind catches up with ?after=
                channel.close()

    @asynccontextmanager
    async def watch(self, owner_id: int) -> AsyncIterator[trio.MemoryReceiveChannel[Item]]:
        send, receive = trio.open_memory_channel[Item](16)
        self._watchers.setdefault(owner_id, set()).add(send)
        try:
            yield receive
        finally:
            self._watchers[owner_id].discard(send)
            send.close()


def connect(path: str) -> sqlite3.Connection:
    # check_same_thread=False: a dependency's set-up and teardown may run in
    # two different worker threads (one request uses it at a time).
    connection = sqlite3.connect(path, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def create_schema(path: str) -> None:
    with connect(path) as connection:
        connection.executescript(SCHEMA)


@asynccontextmanager
async def lifespan(app: TrioAPI) -> AsyncIterator[dict[str, object]]:
    database = os.environ.get("NOTES_DATABASE")
    with tempfile.TemporaryDirectory() as scratch:
        path = database or str(pathlib.Path(scratch) / "notes.db")
        await trio.to_thread.run_sync(create_schema, path)
        yield {"notes": NoteStore(), "database": path, "feed": ItemFeed()}


app = TrioAPI(title="Notes", lifespan=lifespan)


# -- dependencies ------------------------------------------------------------


def get_db(request: Request) -> Iterator[sqlite3.Connection]:
    """One connection per request, in worker threads: committed if the endpoint succeeds."""
    connection = connect(request.state.database)
    try:
        yield connection
        connection.commit()
    except BaseException:  # an error, or trio.Cancelled (the client left, a deadline)
        connection.rollback()
        raise
    finally:
        connection.close()


# scope="function": the commit happens before the response is sent.
DB = Annotated[sqlite3.Connection, Depends(get_db, scope="function")]
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")


def hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)


def find_user(db: sqlite3.Connection, username: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM users WHERE username = ?", (username,)
    ).fetchone()
    return row


def current_user(token: Annotated[str, Depends(oauth2_scheme)], request: Request) -> User:
    """The user the bearer token names (a def dependency: runs in a worker thread)."""
    unauthorized = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )
    try:
        username = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])["sub"]
    except (jwt.InvalidTokenError, KeyError):
        raise unauthorized from None
    # Its own short connection, not the request's: the SSE feed, whose
    # response outlives the endpoint, needs the user too.
    with closing(connect(request.state.database)) as db:
        row = find_user(db, username)
    if row is None:
        raise unauthorized
    return User(id=row["id"], username=row["username"], full_name=row["full_name"])


CurrentUser = Annotated[User, Depends(current_user)]

# SQLite stores 64-bit integers: a larger id or offset is a 422, not an OverflowError.
SQLITE_MAX_INTEGER = 2**63 - 1
ItemId = Annotated[int, Path(ge=1, le=SQLITE_MAX_INTEGER)]


def owned_item(item_id: ItemId, user: CurrentUser, db: DB) -> Item:
    row = db.execute(
        "SELECT * FROM items WHERE id = ? AND owner_id = ?", (item_id, user.id)
    ).fetchone()
    if row is None:  # someone else's item is as absent as a missing one
        raise HTTPException(status_code=404, detail="Item not found")
    return Item(**row)


OwnedItem = Annotated[Item, Depends(owned_item)]
NOT_FOUND = {404: {"model": ErrorDetail, "description": "Not found"}}
UNAUTHORIZED = {401: {"model": ErrorDetail, "description": "Not authenticated"}}


# -- public routes -----------------------------------------------------------


@app.get("/")
async def index() -> dict[str, str]:
    return {"message": "Hello from trioapi", "docs": "/docs"}


@app.get("/health", include_in_schema=False)
async def health() -> dict[str, str]:
    """Liveness: the process answers (readiness: `trioapi run --health-path`)."""
    return {"status": "ok"}


@app.get("/notes", response_model=list[Note])
async def list_notes(request: Request) -> list[Note]:
    store: NoteStore = request.state.notes
    return store.all()


@app.post(
    "/notes",
    response_model=Note,
    status_code=201,
    # A body that is not UTF-8 JSON is answered 400 before validation, as in FastAPI.
    responses={400: {"model": ErrorDetail, "description": "Malformed body"}},
)
async def create_note(note: NoteIn, request: Request) -> Note:
    store: NoteStore = request.state.notes
    return await store.add(note)


@app.get("/notes/{note_id}", response_model=Note, responses=NOT_FOUND)
async def read_note(note_id: int, request: Request) -> Note:
    store: NoteStore = request.state.notes
    note = store.get(note_id)
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


# -- users -------------------------------------------------------------------


def welcome(username: str) -> None:
    """A background task: runs after the 201 has been sent (stands for an e-mail)."""
    logger.info("welcome, %s", username)


@app.post(
    "/users",
    response_model=User,
    status_code=201,
    responses={409: {"model": ErrorDetail, "description": "Username taken"}},
)
async def sign_up(data: UserIn, db: DB, tasks: BackgroundTasks) -> User:
    salt = secrets.token_bytes(16)
    # scrypt costs tens of milliseconds of CPU: a worker thread, not the event loop.
    digest = await trio.to_thread.run_sync(hash_password, data.password, salt)

    def insert() -> int | None:
        try:
            cursor = db.execute(
                "INSERT INTO users (username, full_name, salt, password_hash) VALUES (?, ?, ?, ?)",
                (data.username, data.full_name, salt, digest),
            )
        except sqlite3.IntegrityError:
            return None
        return cursor.lastrowid

    user_id = await trio.to_thread.run_sync(insert)
    if user_id is None:
        raise HTTPException(status_code=409, detail="Username already taken")
    tasks.add_task(welcome, data.username)
    return User(id=user_id, username=data.username, full_name=data.full_name)


@app.post("/token", response_model=Token, responses={400: {"model": ErrorDetail}})
async def log_in(form: Annotated[OAuth2PasswordRequestForm, Depends()], db: DB) -> Token:
    row = await trio.to_thread.run_sync(find_user, db, form.username)
    # Hash even for an unknown user, so the answer takes as long either way.
    salt, expected = (row["salt"], row["password_hash"]) if row else (b"", b"")
    digest = await trio.to_thread.run_sync(hash_password, form.password, salt)
    if row is None or not hmac.compare_digest(digest, expected):
        raise HTTPException(status_code=400, detail="Incorrect username or password")
    claims = {"sub": row["username"], "exp": datetime.now(UTC) + TOKEN_LIFETIME}
    return Token(
        access_token=jwt.encode(claims, SECRET_KEY, algorithm=ALGORITHM), token_type="bearer"
    )


@app.get("/users/me", response_model=User, responses=UNAUTHORIZED)
async def read_me(user: CurrentUser) -> User:
    return user


# -- a user's items (def endpoints: each runs in a worker thread) -------------


@app.get("/items", response_model=ItemPage, responses=UNAUTHORIZED)
def list_items(
    user: CurrentUser,
    db: DB,
    skip: Annotated[int, Query(ge=0, le=SQLITE_MAX_INTEGER)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ItemPage:
    total = db.execute("SELECT count(*) FROM items WHERE owner_id = ?", (user.id,)).fetchone()[0]
    rows = db.execute(
        "SELECT * FROM items WHERE owner_id = ? ORDER BY id LIMIT ? OFFSET ?",
        (user.id, limit, skip),
    ).fetchall()
    return ItemPage(items=[Item(**row) for row in rows], total=total, skip=skip, limit=limit)


@app.post("/items", response_model=Item, status_code=201, responses=UNAUTHORIZED)
def create_item(data: ItemIn, user: CurrentUser, db: DB, request: Request) -> Item:
    cursor = db.execute(
        "INSERT INTO items (owner_id, title, description) VALUES (?, ?, ?)",
        (user.id, data.title, data.description),
    )
    assert cursor.lastrowid is not None
    item = Item(id=cursor.lastrowid, owner_id=user.id, **data.model_dump())
    db.commit()  # before the feed hears of it: a watcher may read it back at once
    feed: ItemFeed = request.state.feed
    trio.from_thread.run_sync(feed.publish, item)  # back on the event loop, from this thread
    return item


@app.get("/items/{item_id}", response_model=Item, responses={**NOT_FOUND, **UNAUTHORIZED})
def read_item(item: OwnedItem) -> Item:
    return item


@app.delete("/items/{item_id}", status_code=204, responses={**NOT_FOUND, **UNAUTHORIZED})
def delete_item(item: OwnedItem, db: DB) -> Response:
    db.execute("DELETE FROM items WHERE id = ?", (item.id,))
    return Response(status_code=204)


@app.put(
    "/items/{item_id}/attachment",
    response_model=Attachment,
    status_code=201,
    responses={**NOT_FOUND, **UNAUTHORIZED, 413: {"model": ErrorDetail}},
    max_body_size=MAX_ATTACHMENT + 64 * 1024,  # the file and the multipart framing
)
async def attach(item: OwnedItem, file: Annotated[UploadFile, File()], db: DB) -> Attachment:
    data = await file.read()
    if len(data) > MAX_ATTACHMENT:
        raise HTTPException(status_code=413, detail="Attachment too large")
    content_type = file.content_type or "application/octet-stream"
    filename = pathlib.Path(file.filename or "attachment").name

    def store() -> None:
        db.execute(
            "INSERT OR REPLACE INTO attachments VALUES (?, ?, ?, ?)",
            (item.id, filename, content_type, data),
        )

    await trio.to_thread.run_sync(store)
    return Attachment(filename=filename, content_type=content_type, size=len(data))


@app.get(
    "/items/{item_id}/attachment",
    response_class=Response,
    responses={**NOT_FOUND, **UNAUTHORIZED, 200: {"content": {"application/octet-stream": {}}}},
)
def download(item: OwnedItem, db: DB) -> Response:
    row = db.execute("SELECT * FROM attachments WHERE item_id = ?", (item.id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="No attachment")
    disposition = f'attachment; filename="{row["filename"]}"'
    return Response(
        row["data"], media_type=row["content_type"], headers={"Content-Disposition": disposition}
    )


@app.get("/feed", response_class=EventSourceResponse, responses=UNAUTHORIZED, timeout=None)
async def feed(
    user: CurrentUser,
    request: Request,
    after: Annotated[int, Query(ge=0, le=SQLITE_MAX_INTEGER)] = 0,
    count: Annotated[int, Query(ge=1, le=100)] = 10,
) -> AsyncIterable[ServerSentEvent]:
    """The user's new items as server-sent events: first those after ``after``, then live ones.

    Ends after ``count`` events; a client reconnects with ``after`` set to the
    last ``id`` it saw.
    """
    items: ItemFeed = request.state.feed

    def missed() -> list[sqlite3.Row]:
        with closing(connect(request.state.database)) as db:
            return db.execute(
                "SELECT * FROM items WHERE owner_id = ? AND id > ? ORDER BY id LIMIT ?",
                (user.id, after, count),
            ).fetchall()

    async with items.watch(user.id) as live:  # watch first, so nothing falls between
        sent, left = after, count
        for row in await trio.to_thread.run_sync(missed):
            sent, left = row["id"], left - 1
            yield ServerSentEvent(data=Item(**row), event="item", id=str(sent))
        while left > 0:
            item = await live.receive()
            if item.id > sent:
                sent, left = item.id, left - 1
                yield ServerSentEvent(data=item, event="item", id=str(sent))


@app.get("/reports/summary", timeout=2, responses={504: {"model": ErrorDetail}})
async def summary(
    user: CurrentUser, db: DB, upstream_delay: Annotated[float, Query(ge=0, le=10)] = 0
) -> dict[str, int | str]:
    """Slow on purpose: the whole request has 2 seconds, or it is a 504."""
    await trio.sleep(upstream_delay)  # stands for a slow upstream service

    def totals() -> tuple[int, int]:
        row = db.execute(
            "SELECT count(DISTINCT items.id), count(attachments.item_id) FROM items"
            " LEFT JOIN attachments ON attachments.item_id = items.id WHERE owner_id = ?",
            (user.id,),
        ).fetchone()
        return row[0], row[1]

    items, attachments = await trio.to_thread.run_sync(totals)
    return {"username": user.username, "items": items, "attachments": attachments}
