"""How fast, and in how much memory, form floods are refused through hypercorn.

    .venv/bin/python bench/hostile_forms.py [--fields 100000] [--repeats 3]

Serves a ``request.form()`` endpoint with hypercorn's trio worker in this
process and posts, over HTTP/1.1: a URL-encoded body of ``--fields`` fields,
and a multipart body of as many one-byte files. Each is sent to the app with
its default limits (1,000 fields, 1,000 files: a 400 once the 1,001st begins)
and to one with the limits lifted (``None``: the whole form is parsed), which
shows what the limits save. Prints, per case, the answer, the least
wall-clock time of ``--repeats`` requests, and the peak of memory traced by
``tracemalloc`` during one more request (server and client share the process;
the request bodies are built before tracing starts; tracing makes that
request several times slower, so it is not timed).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.serving import run_hypercorn  # noqa: E402
from trioapi import Request, TrioAPI  # noqa: E402


def build_app(limited: bool) -> TrioAPI:
    """The endpoint under test, with the default form limits or none."""
    limits = {} if limited else {"max_form_fields": None, "max_form_files": None}
    app = TrioAPI(**limits)

    @app.post("/form")
    async def form(request: Request) -> dict[str, int]:
        async with request.form() as parsed:
            return {"items": len(parsed.multi_items())}

    return app


def bodies(count: int) -> dict[str, tuple[bytes, str]]:
    """The two flood bodies with their content types."""
    urlencoded = "&".join(f"f{index}=v" for index in range(count)).encode()
    parts = b"".join(
        b'--B\r\nContent-Disposition: form-data; name="f"; filename="%d"\r\n\r\nx\r\n' % index
        for index in range(count)
    )
    return {
        "urlencoded fields": (urlencoded, "application/x-www-form-urlencoded"),
        "multipart files": (parts + b"--B--\r\n", "multipart/form-data; boundary=B"),
    }


async def measure(count: int, repeats: int) -> None:
    """Print one line per body and limit setting."""
    cases = bodies(count)
    for limited in (True, False):
        async with (
            run_hypercorn(build_app(limited)) as url,
            httpx.AsyncClient(base_url=url, timeout=120) as client,
        ):
            for name, (body, content_type) in cases.items():
                headers = {"content-type": content_type}
                best = float("inf")
                for _ in range(repeats):
                    started = time.perf_counter()
                    response = await client.post("/form", content=body, headers=headers)
                    best = min(best, time.perf_counter() - started)
                answer = f"{response.status_code} {response.text[:60]}"
                # Memory on one more request, traced (tracing slows it down).
                tracemalloc.start()
                await client.post("/form", content=body, headers=headers)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                print(
                    f"{name:18} {len(body) / 1e6:6.2f} MB  limits {'on ' if limited else 'off'}"
                    f"  {best * 1000:8.1f} ms  peak {peak / 1e6:7.1f} MB  {answer}"
                )


def main() -> None:
    """Parse the arguments and run the measurement."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fields", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    trio.run(measure, arguments.fields, arguments.repeats)


if __name__ == "__main__":
    main()
