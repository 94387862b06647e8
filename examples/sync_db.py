"""The items API on a blocking driver: SQLAlchemy's ORM over sqlite3, in ``def`` endpoints.

    hypercorn --worker-class trio examples.sync_db:app
    SYNC_DATABASE_URL=sqlite:////tmp/items.sqlite3 hypercorn --worker-class trio examples.sync_db:app

No asyncio here: every ``def`` endpoint and dependency runs in a worker
thread (``trio.to_thread``) under trioapi's one thread limiter (40 threads,
``trioapi.concurrency.set_thread_limit``). The database pool is sized to
the thread limit, so a thread never waits for a connection.

Each request gets a session from a yield dependency with ``scope="function"``:
its commit runs as soon as the endpoint returns, *before* the response is
sent, so a client that reads right after a 201 finds the row. (With the
default ``scope="request"`` the teardown, and so the commit, would run after
the response.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from trioapi import APIRouter, Depends, HTTPException, Request, TrioAPI
from trioapi.concurrency import run_in_threadpool, thread_limiter

DEFAULT_DATABASE_URL = "sqlite:///sync_db.sqlite3"


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    price: Mapped[float]


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    price: float = Field(ge=0)


class ItemOut(ItemIn):
    model_config = ConfigDict(from_attributes=True)

    id: int


def create_app(database_url: str | None = None) -> TrioAPI:
    """The API on ``database_url`` (default: ``$SYNC_DATABASE_URL``, else a SQLite file)."""
    url = database_url or os.environ.get("SYNC_DATABASE_URL") or DEFAULT_DATABASE_URL

    @asynccontextmanager
    async def lifespan(app: TrioAPI) -> Any:
        threads = int(thread_limiter().total_tokens)
        # One connection per worker thread at most; check_same_thread=False:
        # a dependency and its endpoint may run in two different threads.
        engine = create_engine(
            url,
            pool_size=threads,
            max_overflow=0,
            connect_args={"check_same_thread": False} if url.startswith("sqlite") else {},
        )
        await run_in_threadpool(Base.metadata.create_all, engine)
        yield {"engine": engine}
        await run_in_threadpool(engine.dispose)

    app = TrioAPI(title="Items (SQLAlchemy, blocking)", lifespan=lifespan)
    app.include_router(router)
    return app


def get_session(request: Request) -> Iterator[Session]:
    """A session per request, committed when the endpoint has returned without an error."""
    engine: Engine = request.state.engine
    # expire_on_commit=False: the response is built from the objects after the commit.
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.commit()  # skipped when the endpoint raised: the session rolls back on close


# scope="function": torn down (committed) before the response is sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

router = APIRouter(prefix="/items", tags=["items"])


@router.post("", status_code=201, response_model=ItemOut)
def create(data: ItemIn, session: SessionDep) -> Item:
    item = Item(**data.model_dump())
    session.add(item)
    session.flush()  # assigns the id; the commit is the dependency's
    return item


@router.get("", response_model=list[ItemOut])
def read_all(session: SessionDep) -> Sequence[Item]:
    return session.scalars(select(Item).order_by(Item.id)).all()


@router.get("/{item_id}", response_model=ItemOut)
def read(item_id: int, session: SessionDep) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise HTTPException(404, f"Item {item_id} not found")
    return item


app = create_app()
