"""docs/deployment.md: the proxy middleware, the hypercorn config, the Dockerfile, k8s probes."""

import json
import tomllib
from pathlib import Path

import httpx
import yaml
from hypercorn.config import Config

from docs_src.deployment import metrics, proxy_headers
from examples.app import app as example_app
from tests.serving import run_hypercorn
from trioapi.cli import NO_REQUEST_LIMIT, build_parser
from trioapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
FORWARDED = {"X-Forwarded-For": "203.0.113.7, 10.0.0.2", "X-Forwarded-Proto": "https"}


async def test_a_trusted_proxys_headers_give_the_client_and_scheme():
    async with run_hypercorn(proxy_headers.app) as base, httpx.AsyncClient(base_url=base) as client:
        response = await client.get("/whoami", headers=FORWARDED)
    assert response.json()["client"] == "203.0.113.7"  # 10.0.0.2 is a trusted proxy
    assert response.json()["url"].startswith("https://")


def test_an_untrusted_peers_headers_are_ignored():
    response = TestClient(proxy_headers.app).get("/whoami", headers=FORWARDED)
    assert response.json() == {"client": "testclient", "url": "http://testserver/whoami"}


def test_the_hypercorn_config_file_is_the_trio_worker_without_a_request_cap():
    path = ROOT / "docs_src/deployment/hypercorn.toml"
    config = Config.from_toml(str(path))
    assert tomllib.loads(path.read_text())["worker_class"] == "trio"
    assert config.worker_class == "trio"
    assert config.keep_alive_max_requests == NO_REQUEST_LIMIT
    assert (config.workers, config.graceful_timeout, config.read_timeout) == (4, 20.0, 30)


def test_the_dockerfile_runs_a_valid_trioapi_command_on_files_it_copies():
    lines = (ROOT / "examples/Dockerfile").read_text().splitlines()
    command = json.loads(next(line for line in lines if line.startswith("CMD"))[4:])
    assert command[0] == "trioapi"
    args = build_parser().parse_args(command[1:])
    assert (args.command, args.app, args.port) == ("run", "examples.app:app", 8000)
    app_source = (ROOT / "examples/app.py").read_text()
    for line in lines:
        if line.startswith("ENV NOTES_"):
            assert line.split()[1].split("=")[0] in app_source  # a setting the app reads
        if line.startswith("COPY"):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


def test_the_kubernetes_probes_answer_and_the_grace_period_covers_shutdown():
    manifest = yaml.safe_load((ROOT / "docs_src/deployment/k8s.yaml").read_text())
    pod = manifest["spec"]["template"]["spec"]
    container = pod["containers"][0]
    args = build_parser().parse_args(container["args"][1:])
    assert args.app == "examples.app:app"
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pod["terminationGracePeriodSeconds"] > pre_stop + args.graceful_timeout
    # Readiness is answered by each worker itself (503 while starting or draining).
    assert container["readinessProbe"]["httpGet"]["path"] == args.health_path
    with TestClient(example_app) as client:
        assert client.get(container["livenessProbe"]["httpGet"]["path"]).status_code == 200


def test_instrument_serves_prometheus_metrics_outside_the_openapi_document():
    client = TestClient(metrics.app)
    assert client.get("/").json() == {"hello": "world"}
    scrape = client.get("/metrics")
    assert scrape.headers["content-type"].startswith("text/plain")
    assert 'trioapi_requests_total{method="GET",route="/",status="200"} 1.0' in scrape.text
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
