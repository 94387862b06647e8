"""docs/testing.md: the example test modules run here, as a user's suite would run them."""

import tomllib
from pathlib import Path

from docs_src.testing.test_async_client import (  # noqa: F401
    test_a_slow_service_hits_the_deadline,
    test_forecast_takes_the_services_time,
    test_hello,
    test_websocket,
)
from docs_src.testing.test_served import (  # noqa: F401
    base_url,
    test_a_client_that_leaves_ends_the_request,
    test_hello_over_http,
)
from docs_src.testing.test_sync_client import (  # noqa: F401
    test_forecast_with_an_override,
)
from docs_src.testing.test_sync_client import test_hello as test_hello_sync  # noqa: F401
from docs_src.testing.test_sync_client import test_websocket as test_websocket_sync  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def test_the_pytest_configuration_shown_is_the_one_this_suite_uses():
    shown = tomllib.loads((ROOT / "docs_src/testing/pytest_config.toml").read_text())
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text())
    options = shown["tool"]["pytest"]["ini_options"]
    assert options == {"trio_mode": True}
    assert ours["tool"]["pytest"]["ini_options"]["trio_mode"] is True
