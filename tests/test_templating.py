"""Jinja2Templates and the template response, called as bare ASGI apps."""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from typing import Any

import jinja2
import pytest
import trio

from tests.test_responses import call, http_scope
from trioapi import Request, TrioAPI
from trioapi.background import BackgroundTask
from trioapi.responses import HTMLResponse
from trioapi.staticfiles import StaticFiles
from trioapi.templating import Jinja2Templates
from trioapi.testing import AsyncTestClient
from trioapi.types import Message


class FakeRequest:
    """The part of Request that templating uses."""

    def __init__(self) -> None:
        self.scope = http_scope()

    def url_for(self, name: str, /, **path_params: Any) -> str:
        params = "".join(f"/{value}" for value in path_params.values())
        return f"http://testserver/{name}{params}"


@pytest.fixture
def templates(tmp_path: Path) -> Jinja2Templates:
    (tmp_path / "index.html").write_text("<p>Hello {{ name }}</p>")
    (tmp_path / "link.html").write_text("<a href=\"{{ url_for('item', item_id=7) }}\">x</a>")
    (tmp_path / "thread.html").write_text("{{ record_thread() }}")
    return Jinja2Templates(directory=tmp_path)


@pytest.fixture
def request_() -> FakeRequest:
    return FakeRequest()


async def test_template_response_renders_html(
    templates: Jinja2Templates, request_: FakeRequest
) -> None:
    response = templates.TemplateResponse(request_, "index.html", {"name": "<World>"})
    sent = await call(response)
    assert sent.status == 200
    assert sent.body == b"<p>Hello &lt;World&gt;</p>"
    assert sent.headers == [
        (b"content-length", b"26"),
        (b"content-type", b"text/html; charset=utf-8"),
    ]


def test_template_response_carries_template_and_context(
    templates: Jinja2Templates, request_: FakeRequest
) -> None:
    response = templates.TemplateResponse(request_, "index.html", {"name": "x"})
    assert response.template.name == "index.html"
    assert response.context == {"name": "x", "request": request_}


async def test_response_options_are_passed_through(
    templates: Jinja2Templates, request_: FakeRequest
) -> None:
    events: list[str] = []

    async def send(message: Message) -> None:
        events.append(message["type"])

    response = templates.TemplateResponse(
        request_,
        name="index.html",
        context={"name": "x"},
        status_code=201,
        headers={"X-Extra": "1"},
        media_type="application/xhtml+xml",
        background=BackgroundTask(events.append, "background"),
    )
    await response(http_scope(), trio.sleep_forever, send)
    assert response.status_code == 201
    assert response.headers["x-extra"] == "1"
    assert response.headers["content-type"] == "application/xhtml+xml"
    assert events == ["http.response.start", "http.response.body", "background"]


async def test_url_for_in_templates_uses_the_request(
    templates: Jinja2Templates, request_: FakeRequest
) -> None:
    sent = await call(templates.TemplateResponse(request_, "link.html"))
    assert sent.body == b'<a href="http://testserver/item/7">x</a>'


async def test_sync_template_renders_in_a_worker_thread(
    templates: Jinja2Templates, request_: FakeRequest
) -> None:
    threads: list[int] = []

    def record_thread() -> str:
        threads.append(threading.get_ident())
        return "done"

    response = templates.TemplateResponse(request_, "thread.html", {"record_thread": record_thread})
    assert threads == []  # not rendered in the constructor
    sent = await call(response)
    assert sent.body == b"done"
    assert len(threads) == 1
    assert threads[0] != threading.get_ident()


async def test_async_environment_renders_with_render_async(
    tmp_path: Path, request_: FakeRequest
) -> None:
    (tmp_path / "a.html").write_text("{{ value }}!")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(tmp_path), enable_async=True)
    sent = await call(Jinja2Templates(env=env).TemplateResponse(request_, "a.html", {"value": 42}))
    assert sent.body == b"42!"
    assert sent.header("content-length") == "3"


def test_reading_body_before_sending_renders_it(
    templates: Jinja2Templates, request_: FakeRequest
) -> None:
    response = templates.TemplateResponse(request_, "index.html", {"name": "x"})
    assert response.body == b"<p>Hello x</p>"
    assert response.headers["content-length"] == "14"


async def test_user_content_length_is_kept(
    templates: Jinja2Templates, request_: FakeRequest
) -> None:
    response = templates.TemplateResponse(
        request_, "index.html", {"name": "x"}, headers={"Content-Length": "14"}
    )
    sent = await call(response)
    assert sent.headers.count((b"content-length", b"14")) == 1


async def test_debug_extension_gets_template_and_context(
    templates: Jinja2Templates, request_: FakeRequest
) -> None:
    response = templates.TemplateResponse(request_, "index.html", {"name": "x"})
    sent = await call(response, http_scope(extensions={"http.response.debug": {}}))
    assert sent.messages[0] == {
        "type": "http.response.debug",
        "info": {"template": response.template, "context": response.context},
    }
    assert sent.messages[1]["type"] == "http.response.start"


def test_context_processors_add_to_every_context(tmp_path: Path, request_: FakeRequest) -> None:
    def add_user(request: Any) -> dict[str, Any]:
        return {"user": "ada", "seen": request}

    templates = Jinja2Templates(directory=tmp_path, context_processors=[add_user])
    (tmp_path / "u.html").write_text("{{ user }}")
    response = templates.TemplateResponse(request_, "u.html")
    assert response.context == {"request": request_, "user": "ada", "seen": request_}
    assert response.body == b"ada"


def test_old_signature_warns_and_still_works(
    templates: Jinja2Templates, request_: FakeRequest
) -> None:
    with pytest.warns(DeprecationWarning, match="The `name` is not the first parameter anymore"):
        response = templates.TemplateResponse(
            "index.html", {"request": request_, "name": "old"}, 202
        )
    assert response.status_code == 202
    assert response.body == b"<p>Hello old</p>"


def test_keyword_call_without_request_warns(
    templates: Jinja2Templates, request_: FakeRequest
) -> None:
    with pytest.warns(DeprecationWarning, match="now requires the `request` argument"):
        response = templates.TemplateResponse(
            name="index.html", context={"request": request_, "name": "kw"}
        )
    assert response.body == b"<p>Hello kw</p>"


def test_keyword_call_with_request_does_not_warn(
    templates: Jinja2Templates, request_: FakeRequest
) -> None:
    response = templates.TemplateResponse(
        request=request_, name="index.html", context={"name": "k"}
    )
    assert response.context["request"] is request_


def test_old_signature_without_request_in_context_is_an_error(templates: Jinja2Templates) -> None:
    with (
        pytest.warns(DeprecationWarning),
        pytest.raises(ValueError, match='context must include a "request" key'),
    ):
        templates.TemplateResponse("index.html", {"name": "x"})


def test_bad_arguments_are_type_errors(templates: Jinja2Templates, request_: FakeRequest) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        templates.TemplateResponse(request_, "index.html", colour="red")
    with pytest.raises(TypeError, match="multiple values for argument 'name'"):
        templates.TemplateResponse(request_, "index.html", name="other.html")


def test_directory_and_env_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="either 'directory' or 'env' arguments must be passed"):
        Jinja2Templates()
    with pytest.raises(ValueError, match="either 'directory' or 'env' arguments must be passed"):
        Jinja2Templates(directory=tmp_path, env=jinja2.Environment())


def test_custom_env_keeps_its_own_url_for(request_: FakeRequest) -> None:
    env = jinja2.Environment(loader=jinja2.DictLoader({"t.html": "{{ url_for('x') }}"}))
    env.globals["url_for"] = lambda name: f"custom:{name}"
    templates = Jinja2Templates(env=env)
    assert templates.env is env
    assert templates.TemplateResponse(request_, "t.html").body == b"custom:x"


def test_missing_template_raises(templates: Jinja2Templates, request_: FakeRequest) -> None:
    with pytest.raises(jinja2.TemplateNotFound, match="nope.html"):
        templates.TemplateResponse(request_, "nope.html")


# --- in a TrioAPI app -----------------------------------------------------------------


async def test_template_in_an_app_links_to_routes_and_static_files(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "site.css").write_text("body {}")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "item.html").write_text(
        "<link href=\"{{ url_for('static', path='/site.css') }}\">"
        "<a href=\"{{ url_for('read_item', item_id=item.id) }}\">{{ item.name }}</a>"
        "<p>{{ request.url.path }}</p>"
    )
    templates = Jinja2Templates(directory=tmp_path / "templates")
    app = TrioAPI()
    app.mount("/static", StaticFiles(directory=tmp_path / "static"), name="static")

    @app.get("/items/{item_id}", response_class=HTMLResponse)
    async def read_item(request: Request, item_id: int) -> Any:
        item = {"id": item_id, "name": f"Item <{item_id}>"}
        return templates.TemplateResponse(request, "item.html", {"item": item})

    async with AsyncTestClient(app) as client:
        response = await client.get("/items/42")
        css = await client.get("/static/site.css")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == (
        '<link href="http://testserver/static/site.css">'
        '<a href="http://testserver/items/42">Item &lt;42&gt;</a>'
        "<p>/items/42</p>"
    )
    assert css.text == "body {}"


def test_missing_jinja2_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)  # as if it were not installed
    spec = importlib.util.find_spec("trioapi.templating")
    assert spec is not None and spec.origin is not None
    fresh = importlib.util.spec_from_file_location("_templating_without_extra", spec.origin)
    assert fresh is not None and fresh.loader is not None
    with pytest.raises(ImportError, match=r"pip install 'trioapi\[templates\]'"):
        fresh.loader.exec_module(importlib.util.module_from_spec(fresh))


def test_config_error_is_also_starlettes_assertion_error(tmp_path):
    from trioapi.exceptions import TrioAPIError

    with pytest.raises(
        AssertionError, match="either 'directory' or 'env' arguments must be passed"
    ) as raised:
        Jinja2Templates()
    assert isinstance(raised.value, TrioAPIError)
