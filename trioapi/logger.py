"""``trioapi.logger.logger``: the ``"trioapi"`` logger, as ``fastapi.logger.logger`` is FastAPI's.

trioapi logs there what it cannot answer with (errors after a response
started, failed background tasks, client disconnects); configure it as any
``logging`` logger.
"""

from __future__ import annotations

import logging

__all__ = ["logger"]

logger = logging.getLogger("trioapi")
