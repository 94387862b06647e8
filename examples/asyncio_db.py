"""A small CRUD API on SQLAlchemy's asyncio extension, through trioapi's asyncio bridge.

    hypercorn --worker-class trio examples.asyncio_db:app      # SQLite (aiosqlite), no set-up
    DATABASE_URL=postgresql+asyncpg://user:pass@localhost/db \\
        hypercorn --worker-class trio examples.asyncio_db:app  # PostgreSQL (asyncpg)

    curl -X POST localhost:8000/items -H 'content-type: application/json' \\
         -d '{"name": "hammer", "price": 9.5}'                # 201 {"id": 1, ...}
    curl localhost:8000/items/1

SQLAlchemy's ``AsyncEngine`` and ``AsyncSession`` only run on asyncio, so
the app opts into the bridge (``asyncio_bridge=True``): an asyncio loop runs
inside Trio as long as the lifespan. The data layer is written as ordinary
asyncio functions taking a session; endpoints await them with
``run_asyncio``. Each request gets its own session from a yield dependency,
closed (its connection back in the pool) exactly once, also when the client
goes away or the deadline passes mid-query.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from trioapi import APIRouter, Depends, HTTPException, Query, Request, Response, TrioAPI
from trioapi.asyncio_bridge import run_asyncio

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///asyncio_db.sqlite3"


# -- the table and its schemas -------------------------------------------------


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


class ItemPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    price: float | None = Field(default=None, ge=0)


class ItemOut(ItemIn):
    model_config = ConfigDict(from_attributes=True)

    id: int


# -- the data layer: plain asyncio code, run on the bridge ---------------------


async def create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


async def add_item(session: AsyncSession, data: ItemIn) -> Item:
    item = Item(**data.model_dump())
    session.add(item)
    await session.commit()  # before the response: the client may read it back at once
    return item


async def list_items(session: AsyncSession, offset: int, limit: int) -> Sequence[Item]:
    result = await session.scalars(select(Item).order_by(Item.id).offset(offset).limit(limit))
    return result.all()


async def update_item(session: AsyncSession, item: Item, patch: ItemPatch) -> Item:
    for field, value in patch.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    await session.commit()
    return item


async def delete_item(session: AsyncSession, item: Item) -> None:
    await session.delete(item)
    await session.commit()


# -- the app -------------------------------------------------------------------


def create_app(database_url: str | None = None, **engine_options: Any) -> TrioAPI:
    """The API on ``database_url`` (default: ``$DATABASE_URL``, else a SQLite file)."""
    url = database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL

    @asynccontextmanager
    async def lifespan(app: TrioAPI) -> AsyncIterator[dict[str, Any]]:
        # The bridge's loop is already running here: the engine's pool is
        # made, and disposed of, on it.
        engine = create_async_engine(url, **engine_options)
        await run_asyncio(create_tables, engine)
        # expire_on_commit=False: reading an expired attribute would load it,
        # which is asyncio I/O, outside the loop, when the response is built.
        yield {"engine": engine, "sessions": async_sessionmaker(engine, expire_on_commit=False)}
        await run_asyncio(engine.dispose)

    app = TrioAPI(title="Items (SQLAlchemy asyncio)", lifespan=lifespan, asyncio_bridge=True)
    app.include_router(router)
    return app


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; closed once, whatever happens to the request."""
    session: AsyncSession = request.state.sessions()
    try:
        yield session
    finally:
        # Rolls back what was not committed and gives the connection back to
        # the pool. Teardown runs shielded, so this completes on a disconnect too.
        await run_asyncio(session.close)


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_item(item_id: int, session: SessionDep) -> Item:
    item = await run_asyncio(session.get, Item, item_id)
    if item is None:
        raise HTTPException(404, f"Item {item_id} not found")
    return item


ItemDep = Annotated[Item, Depends(get_item)]

router = APIRouter(prefix="/items", tags=["items"])


@router.post("", status_code=201, response_model=ItemOut)
async def create(data: ItemIn, session: SessionDep) -> Item:
    return await run_asyncio(add_item, session, data)


@router.get("", response_model=list[ItemOut])
async def read_all(
    session: SessionDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Sequence[Item]:
    return await run_asyncio(list_items, session, offset, limit)


@router.get("/{item_id}", response_model=ItemOut)
async def read(item: ItemDep) -> Item:
    return item


@router.patch("/{item_id}", response_model=ItemOut)
async def update(item: ItemDep, patch: ItemPatch, session: SessionDep) -> Item:
    return await run_asyncio(update_item, session, item, patch)


@router.delete("/{item_id}", status_code=204)
async def delete(item: ItemDep, session: SessionDep) -> Response:
    await run_asyncio(delete_item, session, item)
    return Response(status_code=204)


app = create_app()
