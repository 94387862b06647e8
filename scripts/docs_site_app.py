"""The built documentation site (``mkdocs build``), served by trioapi's StaticFiles.

TRIOAPI_SITE_DIR=site hypercorn --worker-class trio scripts.docs_site_app:app
"""

from __future__ import annotations

import os

from trioapi.applications import Starlette
from trioapi.routing import Mount
from trioapi.staticfiles import StaticFiles

app = Starlette(
    routes=[
        Mount("/", StaticFiles(directory=os.environ.get("TRIOAPI_SITE_DIR", "site"), html=True))
    ]
)
