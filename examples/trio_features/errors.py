"""Errors are never lost: failures after the response are logged with the request.

    hypercorn --worker-class trio examples.trio_features.errors:app

The response to ``POST /signup`` has gone when the e-mail fails; trioapi logs
the error on the ``"trioapi"`` logger with the method, the path and a request
id (the ``X-Request-ID`` header, else a random one), and the record carries
them as ``record.method``, ``record.path`` and ``record.request_id``.
"""

import logging

from trioapi import BackgroundTasks, TrioAPI

logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
app = TrioAPI()


def send_welcome_email(address: str) -> None:
    raise ConnectionError(f"SMTP server unreachable, {address} not welcomed")


@app.post("/signup")
async def signup(email: str, tasks: BackgroundTasks):
    tasks.add_task(send_welcome_email, email)
    return {"signed_up": email}
