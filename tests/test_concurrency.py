from __future__ import annotations

import pytest
import trio

from trioapi.concurrency import run_until_first_complete
from trioapi.exceptions import TrioAPIDeprecationWarning


async def test_run_until_first_complete_cancels_the_others_when_one_returns():
    log: list[str] = []

    async def quick(name: str) -> None:
        log.append(name)

    async def forever() -> None:
        await trio.sleep_forever()

    with pytest.warns(TrioAPIDeprecationWarning, match="run_until_first_complete is deprecated"):
        await run_until_first_complete((forever, {}), (quick, {"name": "quick"}))

    assert log == ["quick"]
