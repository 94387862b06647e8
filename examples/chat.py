"""A chat room over WebSockets: rooms live in the lifespan nursery, broadcast through channels.

    hypercorn --worker-class trio examples.chat:app
    websocat 'ws://localhost:8000/ws/lobby?name=ann'     # in two terminals,
    websocat 'ws://localhost:8000/ws/lobby?name=bob'     # then type lines
    curl localhost:8000/rooms                            # {"lobby": ["ann", "bob"]}

Every room is one task in a nursery the lifespan opens, so rooms live as long
as the app and stop with it. A room reads what its members say from its inbox
(a Trio memory channel) and hands each message to every member's own small
channel; a member whose channel is full (a client that stopped reading) is
dropped instead of slowing the room down. Each WebSocket has two sides, run
side by side in the endpoint: one reads the client's lines into the room's
inbox, the other writes the member's channel out to the socket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import trio

from trioapi import Depends, Query, Request, TrioAPI
from trioapi.websockets import WebSocket

MEMBER_BUFFER = 32
ROOM_INBOX = 64

Message = dict[str, Any]


class Member:
    """One connected client: its name and the channel the room writes to."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.send_channel, self.receive_channel = trio.open_memory_channel[Message](MEMBER_BUFFER)


class Room:
    """A named room; :meth:`run` is its task in the lifespan nursery."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.members: list[Member] = []
        self.inbox, self._inbox_out = trio.open_memory_channel[Message](ROOM_INBOX)

    async def run(self) -> None:
        """Broadcast every message from the inbox to every member, in order."""
        async with self._inbox_out:
            async for message in self._inbox_out:
                for member in list(self.members):
                    try:
                        member.send_channel.send_nowait(message)
                    except trio.WouldBlock:
                        # A member that stopped reading is dropped, not waited for.
                        self.members.remove(member)
                        member.send_channel.close()
                    except trio.ClosedResourceError:
                        pass  # it left while the message was on its way


class ChatRooms:
    """Every room of the app, each running as a task in ``nursery``."""

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self.rooms: dict[str, Room] = {}

    def _room(self, name: str) -> Room:
        room = self.rooms.get(name)
        if room is None:
            room = self.rooms[name] = Room(name)
            self._nursery.start_soon(room.run)
        return room

    @asynccontextmanager
    async def join(self, room_name: str, name: str) -> AsyncIterator[tuple[Room, Member]]:
        """Be a member of ``room_name`` for the block; everyone sees the join and the leave."""
        room = self._room(room_name)
        member = Member(name)
        room.members.append(member)
        await room.inbox.send({"event": "join", "room": room_name, "name": name})
        try:
            yield room, member
        finally:
            if member in room.members:
                room.members.remove(member)
            member.send_channel.close()
            # Shielded: the leave notice goes out even when the endpoint was cancelled.
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                try:
                    await room.inbox.send({"event": "leave", "room": room_name, "name": name})
                except (trio.ClosedResourceError, trio.BrokenResourceError):
                    pass  # the app is shutting down and the room is gone
            if not room.members and self.rooms.get(room_name) is room:
                del self.rooms[room_name]
                await room.inbox.aclose()


@asynccontextmanager
async def lifespan(app: TrioAPI) -> AsyncIterator[None]:
    async with trio.open_nursery() as nursery:
        app.state.chat = ChatRooms(nursery)
        yield
        nursery.cancel_scope.cancel()


app = TrioAPI(title="Chat", lifespan=lifespan)


def get_rooms(websocket: WebSocket) -> ChatRooms:
    rooms: ChatRooms = websocket.app.state.chat
    return rooms


async def _forward(member: Member, websocket: WebSocket) -> None:
    async with member.receive_channel:
        async for message in member.receive_channel:
            await websocket.send_json(message)
    # The room closed our channel: this client fell too far behind.
    await websocket.close(code=1013, reason="too slow, try again later")


@app.websocket("/ws/{room}")
async def chat(
    websocket: WebSocket,
    room: str,
    name: Annotated[str, Query(min_length=1, max_length=32)],
    rooms: Annotated[ChatRooms, Depends(get_rooms)],
):
    """Join ``room`` as ``name``: every text frame sent is broadcast to the room as JSON."""
    await websocket.accept()
    async with rooms.join(room, name) as (chat_room, member), trio.open_nursery() as nursery:
        nursery.start_soon(_forward, member, websocket)
        async for text in websocket.iter_text():
            await chat_room.inbox.send(
                {"event": "message", "room": room, "name": name, "text": text}
            )
        nursery.cancel_scope.cancel()


@app.get("/rooms")
async def list_rooms(request: Request) -> dict[str, list[str]]:
    """Who is in which room."""
    chat_rooms: ChatRooms = request.app.state.chat
    return {name: [m.name for m in room.members] for name, room in chat_rooms.rooms.items()}
