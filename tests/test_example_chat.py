"""examples/chat.py: rooms in the lifespan nursery, broadcast over memory channels."""

from __future__ import annotations

import json

import pytest
import trio

from examples import chat
from tests.serving import run_hypercorn
from tests.ws_client import open_ws
from trioapi.testclient import TestClient
from trioapi.websockets import WebSocketDisconnect


def join(name: str, room: str = "lobby") -> dict:
    return {"event": "join", "room": room, "name": name}


def test_members_of_a_room_see_joins_messages_and_leaves():
    with TestClient(chat.app) as client:
        with client.websocket_connect("/ws/lobby?name=ann") as ann:
            assert ann.receive_json() == join("ann")
            with client.websocket_connect("/ws/lobby?name=bob") as bob:
                assert bob.receive_json() == join("bob")
                assert ann.receive_json() == join("bob")
                assert client.get("/rooms").json() == {"lobby": ["ann", "bob"]}
                ann.send_text("hello bob")
                said = {"event": "message", "room": "lobby", "name": "ann", "text": "hello bob"}
                assert ann.receive_json() == said
                assert bob.receive_json() == said
            assert ann.receive_json() == {"event": "leave", "room": "lobby", "name": "bob"}
            assert client.get("/rooms").json() == {"lobby": ["ann"]}
        assert client.get("/rooms").json() == {}


def test_rooms_are_separate():
    with TestClient(chat.app) as client:
        with client.websocket_connect("/ws/a?name=ann") as ann:
            assert ann.receive_json() == join("ann", "a")
            with client.websocket_connect("/ws/b?name=bob") as bob:
                assert bob.receive_json() == join("bob", "b")
                bob.send_text("only in b")
                assert bob.receive_json()["text"] == "only in b"
                ann.send_text("only in a")
                assert ann.receive_json()["text"] == "only in a"
            assert client.get("/rooms").json() == {"a": ["ann"]}


def test_a_missing_name_closes_with_1008():
    with TestClient(chat.app) as client:
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect("/ws/lobby"):
                pass
    assert info.value.code == 1008


async def test_a_member_that_stops_reading_is_dropped_without_slowing_the_room():
    async with trio.open_nursery() as nursery:
        rooms = chat.ChatRooms(nursery)
        async with rooms.join("r", "slow") as (room, slow), rooms.join("r", "fast") as (_, fast):
            for i in range(chat.MEMBER_BUFFER + 5):
                await room.inbox.send({"event": "message", "text": str(i)})
                # The fast member keeps up; the slow one never reads.
                message = await fast.receive_channel.receive()
                while message["event"] == "join":
                    message = await fast.receive_channel.receive()
                assert message["text"] == str(i)
            assert [m.name for m in room.members] == ["fast"]
            received = []
            with pytest.raises(trio.EndOfChannel):
                while True:
                    received.append(await slow.receive_channel.receive())
            assert len(received) == chat.MEMBER_BUFFER
        nursery.cancel_scope.cancel()


async def test_chat_through_hypercorn_with_trio_websocket():
    async with run_hypercorn(chat.app) as url:
        async with open_ws(url, "/ws/lobby?name=ann") as ann:
            assert json.loads(await ann.get_message()) == join("ann")
            async with open_ws(url, "/ws/lobby?name=bob") as bob:
                assert json.loads(await bob.get_message()) == join("bob")
                assert json.loads(await ann.get_message()) == join("bob")
                await bob.send_message("hi ann")
                said = {"event": "message", "room": "lobby", "name": "bob", "text": "hi ann"}
                assert json.loads(await ann.get_message()) == said
                assert json.loads(await bob.get_message()) == said
            with trio.fail_after(5):
                left = json.loads(await ann.get_message())
            assert left == {"event": "leave", "room": "lobby", "name": "bob"}
