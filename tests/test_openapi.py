"""The OpenAPI document: the same JSON FastAPI 0.163 returns for the same app."""

from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, computed_field

from trioapi import (
    APIRouter,
    Body,
    Cookie,
    Depends,
    File,
    Form,
    Header,
    Path,
    Query,
    Security,
    TrioAPI,
    UploadFile,
)
from trioapi.openapi.utils import get_openapi
from trioapi.responses import HTMLResponse, PlainTextResponse, Response
from trioapi.security import OAuth2PasswordBearer
from trioapi.testclient import TestClient

REF = "#/components/schemas/"
VALIDATION_ERROR_RESPONSE = {
    "description": "Validation Error",
    "content": {"application/json": {"schema": {"$ref": f"{REF}HTTPValidationError"}}},
}
OK_ANY = {"description": "Successful Response", "content": {"application/json": {"schema": {}}}}
NULLABLE_STRING = {"anyOf": [{"type": "string"}, {"type": "null"}]}


class Item(BaseModel):
    name: str
    price: float
    description: str | None = None


def operation(app: TrioAPI, path: str, method: str = "get") -> dict[str, Any]:
    found: dict[str, Any] = app.openapi()["paths"][path][method]
    return found


def test_document_of_an_empty_app_has_info_and_paths_only() -> None:
    assert TrioAPI().openapi() == {
        "openapi": "3.1.0",
        "info": {"title": "TrioAPI", "version": "0.1.0"},
        "paths": {},
    }


def test_route_without_parameters_has_no_validation_error() -> None:
    app = TrioAPI()

    @app.get("/")
    async def read_root() -> dict[str, str]:
        return {}

    document = app.openapi()
    assert document["paths"]["/"]["get"] == {
        "summary": "Read Root",
        "operationId": "read_root__get",
        "responses": {
            "200": {
                "description": "Successful Response",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                            "title": "Response Read Root  Get",
                        }
                    }
                },
            }
        },
    }
    assert "components" not in document


def test_path_query_header_and_cookie_parameters_are_listed_with_titles() -> None:
    app = TrioAPI()

    @app.get("/items/{item_id}")
    async def read_item(
        item_id: Annotated[int, Path(description="The id")],
        user_agent: Annotated[str | None, Header()] = None,
        session: Annotated[str | None, Cookie(deprecated=True)] = None,
        q: Annotated[str | None, Query(alias="item-query", examples=["x"])] = None,
        limit: int = 10,
    ) -> None:
        return None

    assert operation(app, "/items/{item_id}")["parameters"] == [
        {
            "name": "item_id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "description": "The id", "title": "Item Id"},
            "description": "The id",
        },
        {
            "name": "item-query",
            "in": "query",
            "required": False,
            "schema": {**NULLABLE_STRING, "examples": ["x"], "title": "Item-Query"},
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "default": 10, "title": "Limit"},
        },
        {
            "name": "user-agent",
            "in": "header",
            "required": False,
            "schema": {**NULLABLE_STRING, "title": "User-Agent"},
        },
        {
            "name": "session",
            "in": "cookie",
            "required": False,
            "schema": {**NULLABLE_STRING, "deprecated": True, "title": "Session"},
            "deprecated": True,
        },
    ]
    assert operation(app, "/items/{item_id}")["responses"]["422"] == VALIDATION_ERROR_RESPONSE


def test_query_model_is_expanded_into_one_parameter_per_field() -> None:
    class Filters(BaseModel):
        limit: int = 100
        tags: list[str] = []

    app = TrioAPI()

    @app.get("/items/")
    async def read_items(filters: Annotated[Filters, Query()]) -> None:
        return None

    parameters = operation(app, "/items/")["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in parameters] == [
        ("limit", "query", False),
        ("tags", "query", False),
    ]
    assert parameters[1]["schema"] == {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "title": "Tags",
    }


def test_single_body_model_is_a_ref_with_the_validation_error_components() -> None:
    app = TrioAPI()

    @app.post("/items/")
    async def create_item(item: Item) -> None:
        return None

    document = app.openapi()
    assert document["paths"]["/items/"]["post"]["requestBody"] == {
        "content": {"application/json": {"schema": {"$ref": f"{REF}Item"}}},
        "required": True,
    }
    schemas = document["components"]["schemas"]
    assert sorted(schemas) == ["HTTPValidationError", "Item", "ValidationError"]
    assert schemas["Item"]["properties"]["description"] == {
        **NULLABLE_STRING,
        "title": "Description",
    }
    assert schemas["ValidationError"]["properties"]["input"] == {"title": "Input"}
    assert schemas["ValidationError"]["properties"]["ctx"] == {"title": "Context", "type": "object"}


def test_embedded_bodies_become_a_body_model_named_after_the_route() -> None:
    app = TrioAPI()

    @app.put("/items/{item_id}")
    async def update_item(item_id: int, item: Item, importance: Annotated[int, Body()]) -> None:
        return None

    document = app.openapi()
    body = document["paths"]["/items/{item_id}"]["put"]["requestBody"]
    assert body == {
        "content": {
            "application/json": {"schema": {"$ref": f"{REF}Body_update_item_items__item_id__put"}}
        },
        "required": True,
    }
    assert document["components"]["schemas"]["Body_update_item_items__item_id__put"] == {
        "title": "Body_update_item_items__item_id__put",
        "type": "object",
        "properties": {
            "item": {"$ref": f"{REF}Item"},
            "importance": {"title": "Importance", "type": "integer"},
        },
        "required": ["item", "importance"],
    }


def test_form_and_file_bodies_use_their_media_types_and_binary_strings() -> None:
    app = TrioAPI()

    @app.post("/login/")
    async def login(username: Annotated[str, Form()]) -> None:
        return None

    @app.post("/files/")
    async def upload(data: Annotated[bytes, File()], upload: UploadFile) -> None:
        return None

    document = app.openapi()
    login_body = document["paths"]["/login/"]["post"]["requestBody"]["content"]
    assert list(login_body) == ["application/x-www-form-urlencoded"]
    files_body = document["paths"]["/files/"]["post"]["requestBody"]["content"]
    assert files_body == {
        "multipart/form-data": {"schema": {"$ref": f"{REF}Body_upload_files__post"}}
    }
    properties = document["components"]["schemas"]["Body_upload_files__post"]["properties"]
    assert properties["data"] == {
        "title": "Data",
        "type": "string",
        "contentMediaType": "application/octet-stream",
    }


def test_base64_bytes_models_say_so_with_content_encoding() -> None:
    class Data(BaseModel):
        model_config = ConfigDict(ser_json_bytes="base64")
        data: bytes

    app = TrioAPI()

    @app.get("/data")
    async def get_data() -> Data:
        return Data(data=b"x")

    data_schema = app.openapi()["components"]["schemas"]["Data"]["properties"]["data"]
    assert data_schema["contentEncoding"] == "base64"


def test_response_model_status_code_and_additional_responses() -> None:
    class Message(BaseModel):
        message: str

    app = TrioAPI()

    @app.post(
        "/items/",
        response_model=Item,
        status_code=201,
        responses={404: {"model": Message}, "5XX": {"description": "Oops"}, 302: {}},
    )
    async def create_item() -> None:
        return None

    responses = operation(app, "/items/", "post")["responses"]
    assert responses == {
        "201": {
            "description": "Successful Response",
            "content": {"application/json": {"schema": {"$ref": f"{REF}Item"}}},
        },
        "404": {
            "description": "Not Found",
            "content": {"application/json": {"schema": {"$ref": f"{REF}Message"}}},
        },
        "5XX": {"description": "Oops"},
        "302": {"description": "Found"},
    }


def test_response_classes_set_the_media_type_of_the_response() -> None:
    app = TrioAPI()

    @app.get("/html", response_class=HTMLResponse)
    async def html() -> str:
        return ""

    @app.get("/text", response_class=PlainTextResponse, status_code=204)
    async def text() -> None:
        return None

    @app.get("/raw", response_class=Response)
    async def raw() -> None:
        return None

    assert operation(app, "/html")["responses"]["200"] == {
        "description": "Successful Response",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
    assert operation(app, "/text")["responses"] == {"204": {"description": "Successful Response"}}
    assert operation(app, "/raw")["responses"] == {"200": {"description": "Successful Response"}}


def test_security_schemes_and_scopes_are_collected() -> None:
    oauth2 = OAuth2PasswordBearer(tokenUrl="token", scopes={"me": "Me", "items": "Items"})

    async def current_user(token: Annotated[str, Depends(oauth2)]) -> str:
        return token

    async def active_user(user: Annotated[str, Security(current_user, scopes=["me"])]) -> str:
        return user

    app = TrioAPI()

    @app.get("/items/")
    async def read_items(user: Annotated[str, Security(active_user, scopes=["items"])]) -> None:
        return None

    document = app.openapi()
    assert document["paths"]["/items/"]["get"]["security"] == [
        {"OAuth2PasswordBearer": ["items", "me"]}
    ]
    assert document["components"]["securitySchemes"] == {
        "OAuth2PasswordBearer": {
            "type": "oauth2",
            "flows": {"password": {"scopes": {"me": "Me", "items": "Items"}, "tokenUrl": "token"}},
        }
    }
    # The scheme reads the Authorization header itself: no parameters, no 422.
    assert "parameters" not in document["paths"]["/items/"]["get"]


def test_route_metadata_and_openapi_extra() -> None:
    app = TrioAPI()

    @app.get(
        "/items/",
        tags=["items"],
        summary="List",
        operation_id="list_items",
        deprecated=True,
        openapi_extra={"x-aperture": "open", "responses": {"200": {"x-cached": True}}},
    )
    async def read_items() -> None:
        """Read the items.\f

        Not for the docs.
        """

    assert operation(app, "/items/") == {
        "tags": ["items"],
        "summary": "List",
        "description": "Read the items.",
        "operationId": "list_items",
        "deprecated": True,
        "responses": {"200": {**OK_ANY, "x-cached": True}},
        "x-aperture": "open",
    }


def test_hidden_routes_and_parameters_are_left_out() -> None:
    app = TrioAPI()

    @app.get("/hidden", include_in_schema=False)
    async def hidden() -> None:
        return None

    @app.get("/shown")
    async def shown(secret: Annotated[str | None, Query(include_in_schema=False)] = None) -> None:
        return None

    document = app.openapi()
    assert list(document["paths"]) == ["/shown"]
    # A hidden parameter is still validated, so the 422 answer stays.
    assert "parameters" not in document["paths"]["/shown"]["get"]
    assert document["paths"]["/shown"]["get"]["responses"]["422"] == VALIDATION_ERROR_RESPONSE


class Computed(BaseModel):
    name: str

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented spelling
    @property
    def upper(self) -> str:
        return self.name.upper()


@pytest.mark.parametrize(
    ("separate", "names"),
    [
        (True, ["Computed-Input", "Computed-Output", "HTTPValidationError", "ValidationError"]),
        # FastAPI 0.163: a model with computed fields is still documented as it
        # is sent (its computed fields are read-only outputs), so it splits too.
        (False, ["Computed-Input", "Computed-Output", "HTTPValidationError", "ValidationError"]),
    ],
)
def test_separate_input_output_schemas(separate: bool, names: list[str]) -> None:
    app = TrioAPI(separate_input_output_schemas=separate)

    @app.post("/")
    async def echo(value: Computed) -> Computed:
        return value

    assert sorted(app.openapi()["components"]["schemas"]) == names


def test_app_metadata_servers_tags_and_external_docs() -> None:
    app = TrioAPI(
        title="Shop",
        summary="Sells",
        description="A shop.",
        version="2.0",
        terms_of_service="https://example.com/terms",
        contact={"name": "Ann", "email": None},
        license_info={"name": "MIT"},
        servers=[{"url": "https://shop.example.com"}],
        openapi_tags=[{"name": "items", "description": "Items."}],
        openapi_external_docs={"url": "https://example.com/docs"},
    )
    assert app.openapi() == {
        "openapi": "3.1.0",
        "info": {
            "title": "Shop",
            "summary": "Sells",
            "description": "A shop.",
            "termsOfService": "https://example.com/terms",
            "contact": {"name": "Ann"},
            "license": {"name": "MIT"},
            "version": "2.0",
        },
        "servers": [{"url": "https://shop.example.com"}],
        "paths": {},
        "tags": [{"name": "items", "description": "Items."}],
        "externalDocs": {"url": "https://example.com/docs"},
    }
    assert app.openapi() is app.openapi()  # cached in app.openapi_schema


@pytest.mark.filterwarnings(
    "ignore:TrioAPI.root_path=:trioapi.exceptions.TrioAPIDeprecationWarning"
)
def test_root_path_is_the_server_when_none_is_declared() -> None:
    assert TrioAPI(root_path="/api").openapi()["servers"] == [{"url": "/api"}]
    assert "servers" not in TrioAPI(root_path="/api", root_path_in_servers=False).openapi()


def test_callbacks_and_webhooks_are_documented() -> None:
    class Event(BaseModel):
        id: str

    callbacks = APIRouter()

    @callbacks.post("/{$callback_url}/events")
    async def notify(body: Event) -> None:
        return None

    app = TrioAPI()

    @app.post("/subscribe", callbacks=callbacks.routes)
    async def subscribe(callback_url: str) -> None:
        return None

    @app.webhooks.post("/new-event")
    async def new_event(body: Event) -> None:
        return None

    document = app.openapi()
    callback = document["paths"]["/subscribe"]["post"]["callbacks"]["notify"]
    assert callback["/{$callback_url}/events"]["post"]["requestBody"] == {
        "content": {"application/json": {"schema": {"$ref": f"{REF}Event"}}},
        "required": True,
    }
    assert document["webhooks"]["/new-event"]["post"]["operationId"] == "new_event_new_event_post"
    assert "Event" in document["components"]["schemas"]


def test_duplicate_operation_ids_warn() -> None:
    app = TrioAPI()

    @app.get("/a", operation_id="same")
    async def first() -> None:
        return None

    @app.get("/b", operation_id="same")
    async def second() -> None:
        return None

    with pytest.warns(UserWarning, match="Duplicate Operation ID same for function second"):
        app.openapi()


def test_get_openapi_documents_any_list_of_routes() -> None:
    router = APIRouter()

    @router.get("/ping", response_model=None)
    async def ping() -> dict[str, Any]:
        return {}

    document = get_openapi(title="T", version="1", routes=router.routes)
    assert document["paths"]["/ping"]["get"]["responses"] == {"200": OK_ANY}


def test_served_document_matches_app_openapi() -> None:
    app = TrioAPI()

    @app.get("/items/{item_id}")
    async def read_item(item_id: Annotated[int, Field(gt=0)]) -> None:
        return None

    with TestClient(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == app.openapi()


class Profile(BaseModel):
    name: str


class ClientHeaders(BaseModel):
    x_client_name: str


def test_fields_of_an_optional_header_model_are_optional() -> None:
    app = TrioAPI()

    @app.get("/items/")
    async def read_items(client: Annotated[ClientHeaders | None, Header()] = None) -> None:
        return None

    assert operation(app, "/items/")["parameters"] == [
        {
            "name": "x-client-name",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "title": "X Client Name"},
        }
    ]


def test_form_models_in_an_embedded_form_body_are_all_of_their_schemas() -> None:
    app = TrioAPI()

    @app.post("/profiles/")
    async def create_profile(
        profile: Annotated[Profile, Form()], token: Annotated[str, Form()]
    ) -> None:
        return None

    schemas = app.openapi()["components"]["schemas"]
    assert schemas["Body_create_profile_profiles__post"] == {
        "title": "Body_create_profile_profiles__post",
        "type": "object",
        "properties": {"token": {"title": "Token", "type": "string"}},
        "required": ["token"],
        "allOf": [{"$ref": f"{REF}Profile"}],
    }


def test_a_model_docstring_is_documented_up_to_its_form_feed() -> None:
    class Secretive(BaseModel):
        """Public text.
        \f
        Internal notes.
        """

    app = TrioAPI()

    @app.post("/")
    def create(item: Secretive) -> None:
        return None

    description = app.openapi()["components"]["schemas"]["Secretive"]["description"]
    assert description == "Public text.\n"
