"""docs/porting.md: the rename script ports a FastAPI app that then runs on trioapi."""

import subprocess
import sys
from pathlib import Path

from docs_src.porting import extension, rename
from trioapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
BEFORE = ROOT / "docs_src/porting/fastapi_app.py"


def test_the_rules_rename_modules_and_the_class_only():
    assert (
        rename.port("from fastapi import FastAPI, Depends")
        == "from trioapi import TrioAPI, Depends"
    )
    assert rename.port("import starlette.status") == "import trioapi.status"
    assert (
        rename.port("from starlette.requests import Request")
        == "from trioapi.requests import Request"
    )
    assert rename.port("x = fastapi.HTTPException") == "x = trioapi.HTTPException"
    assert rename.port("my_fastapi_helper = FastAPIish") == "my_fastapi_helper = FastAPIish"


def test_the_ported_app_runs(tmp_path):
    target = tmp_path / "main.py"
    target.write_text(BEFORE.read_text())
    script = ROOT / "docs_src/porting/rename.py"
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True
    )
    assert done.stdout == f"ported {target}\n"
    namespace: dict = {}
    exec(compile(target.read_text(), str(target), "exec"), namespace)
    client = TestClient(namespace["app"])
    assert client.get("/hello", params={"name": "Ann"}).text == "Hello, Ann"
    assert client.get("/hello", params={"name": "nobody"}).json() == {"detail": "Nobody is here"}
    assert client.get("/openapi.json").json()["info"]["title"] == "Ported"


def test_an_extension_adds_a_dependency_to_registered_routes():
    client = TestClient(extension.app)
    assert client.get("/notes", headers={"x-api-key": "secret"}).json() == ["buy milk"]
    assert client.get("/notes", headers={"x-api-key": "wrong"}).status_code == 401
    missing = client.get("/notes")
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["header", "x-api-key"]
    assert client.get("/health").json() == "ok"
    parameters = client.get("/openapi.json").json()["paths"]["/notes"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in parameters] == [
        ("x-api-key", "header", True)
    ]
