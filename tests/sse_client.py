"""Reading a ``text/event-stream`` body event by event, for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator


async def next_events(lines: AsyncIterator[str], count: int) -> list[str]:
    """The next ``count`` events of a stream, each as its lines joined by ``\\n``.

    ``lines`` is one ``response.aiter_lines()`` iterator, reused across calls;
    comments (``: ping``) count as events here, so tests can see them.
    """
    events: list[str] = []
    current: list[str] = []
    async for line in lines:
        if line:
            current.append(line)
            continue
        if current:
            events.append("\n".join(current))
            current = []
        if len(events) == count:
            return events
    if current:
        events.append("\n".join(current))
    return events
