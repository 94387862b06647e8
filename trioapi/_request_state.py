"""Where a request's response is, and why the request was cancelled.

The two state values of a ``RequestContext`` (``trioapi._scopes``): its
``phase`` only ever moves forward, and its ``cancel_reason`` is recorded
once, by whoever cancels the request scope first.
"""

from __future__ import annotations

import enum

__all__ = ["CancelReason", "ResponsePhase"]


class ResponsePhase(enum.IntEnum):
    """How far the response has gone; each phase is later (greater) than the one before."""

    NOT_STARTED = 0
    """Nothing sent: a deadline can still be answered with 504."""
    STARTED = 1
    """``http.response.start`` sent (or the WebSocket accepted); body messages may follow."""
    ENDING = 2
    """The last body message is being sent. A disconnect no longer cancels the request:
    hypercorn reports a stream it has just finished as gone from inside this send."""
    COMPLETE = 3
    """The last body message was handed to the server; work after the response may run."""


class CancelReason(enum.StrEnum):
    """Why the request was cancelled; the value is the label metrics and logs use."""

    DEADLINE = "deadline"
    """The request's deadline (``timeout=``) passed."""
    DISCONNECT = "disconnect"
    """The client went away (``http.disconnect``, or a last send to a client that left)."""
    SEND_TIMEOUT = "send_timeout"
    """A response message was not taken by the client within ``send_timeout``."""
    INVALID_RESPONSE = "invalid_response"
    """The app sent a message the server must not see (a second response start)."""
    SHUTDOWN = "shutdown"
    """Cancelled from outside the request: the server's hard cancel at shutdown."""
