"""Every hypercorn fix, in the order they are applied: ``{name: module}``.

Adding one: a module here with a ``FIX`` (usually
:func:`~trioapi.server._extend.extension_fix` around a subclass of the
hypercorn class), one line below, and tests that show what it changes and
that its shape check refuses a changed hypercorn (``tests/test_server_fixes.py``).
"""

from __future__ import annotations

FIX_MODULES: dict[str, str] = {
    # First: it replaces TCPServer._read_data, which later fixes wrap.
    "read-without-scope": "trioapi.server._read_scope",
    "send-eof-lock": "trioapi.server._send_eof",
    "shutdown-trigger": "trioapi.server._shutdown_trigger",
    "response-start-repair": "trioapi.server._response_start",
    "ambiguous-framing": "trioapi.server._framing",
    "h2-reset": "trioapi.server._h2_reset",
    "h2-late-data": "trioapi.server._h2_late_data",
    "h2-stream-cancel": "trioapi.server._stream_cancel",
    "idle-task": "trioapi.server._idle_task",
    "early-answer-close": "trioapi.server._early_close",
    "lingering-close": "trioapi.server._linger",
    "direct-send": "trioapi.server._direct_send",
    "skip-empty-write": "trioapi.server._empty_write",
    "h2-end-with-data": "trioapi.server._h2_end_stream",
    "app-queue-nowait": "trioapi.server._app_queue",
    "h11-head-with-body": "trioapi.server._head_with_body",
    "h2-head-with-body": "trioapi.server._h2_head_with_body",
}
