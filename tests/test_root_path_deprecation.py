"""TrioAPI(root_path=...) still works but is deprecated in favour of the server's option."""

import pytest

from trioapi import Request, TrioAPI
from trioapi.exceptions import TrioAPIDeprecationWarning
from trioapi.testclient import TestClient


def test_root_path_argument_warns_and_still_sets_the_scope_root_path() -> None:
    with pytest.warns(
        TrioAPIDeprecationWarning, match=r"trioapi run --root-path /api/v1"
    ) as record:
        app = TrioAPI(root_path="/api/v1")
    # The warning points at the line that built the app, not into trioapi.
    assert record[0].filename == __file__

    @app.get("/app")
    def read_main(request: Request) -> dict[str, str]:
        return {"root_path": request.scope["root_path"]}

    assert TestClient(app).get("/app").json() == {"root_path": "/api/v1"}


def test_no_root_path_argument_does_not_warn() -> None:
    TrioAPI()  # filterwarnings=error turns any warning into a failure
