"""The example app with its docs assets served locally, for machines without a CDN.

    hypercorn --worker-class trio scripts.docs_offline_app:app

``TRIOAPI_REDOC_JS`` may name ReDoc's ``redoc.standalone.js`` to serve too.
"""

from __future__ import annotations

import os

from examples.app import app
from trioapi.openapi.assets import serve_docs_assets

serve_docs_assets(app, redoc_js_file=os.environ.get("TRIOAPI_REDOC_JS") or None)

__all__ = ["app"]
