"""python-multipart is needed only by apps that read forms, as in FastAPI."""

import subprocess
import sys

SCRIPT = """
import sys
sys.modules["python_multipart"] = None  # as if it were not installed
from trioapi import Form, TrioAPI
from trioapi.exceptions import TrioAPIError
from trioapi.testclient import TestClient

app = TrioAPI()

@app.get("/")
async def index() -> dict[str, str]:
    return {"ok": "yes"}

print(TestClient(app).get("/").json())
try:
    @app.post("/login")
    async def login(username: str = Form()) -> str:
        return username
except TrioAPIError as exc:
    print("refused:", "pip install python-multipart" in str(exc))
"""


def test_an_app_without_forms_runs_without_python_multipart():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["{'ok': 'yes'}", "refused: True"]
