"""App shapes whose OpenAPI document must equal FastAPI's, written once for both frameworks.

Each ``build_<shape>(fw)`` takes a namespace from :func:`framework` that holds
either trioapi's or FastAPI's public names, and returns an app. The fixture
generator (``tests/fixtures/generate_openapi_fixtures.py``) builds every shape
with FastAPI and stores its ``openapi.json``; ``tests/test_openapi_fixtures.py``
builds the same shape with trioapi and compares. No ``from __future__ import
annotations`` here: ``Annotated[int, fw.Query()]`` must be evaluated where
``fw`` is in scope.
"""

import datetime
import enum
import uuid
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, computed_field

_ROOT_NAMES = [
    "APIRouter",
    "BackgroundTasks",
    "Body",
    "Cookie",
    "Depends",
    "File",
    "Form",
    "Header",
    "HTTPException",
    "Path",
    "Query",
    "Request",
    "Response",
    "Security",
    "UploadFile",
]
_RESPONSE_NAMES = [
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "StreamingResponse",
]
_SECURITY_NAMES = [
    "APIKeyCookie",
    "APIKeyHeader",
    "APIKeyQuery",
    "HTTPAuthorizationCredentials",
    "HTTPBasic",
    "HTTPBasicCredentials",
    "HTTPBearer",
    "HTTPDigest",
    "OAuth2",
    "OAuth2AuthorizationCodeBearer",
    "OAuth2PasswordBearer",
    "OAuth2PasswordRequestForm",
    "OpenIdConnect",
    "SecurityScopes",
]


def framework(name: str) -> SimpleNamespace:
    """The public names of ``"trioapi"`` or ``"fastapi"``, under one set of attribute names."""
    import importlib

    root = importlib.import_module(name)
    responses = importlib.import_module(f"{name}.responses")
    security = importlib.import_module(f"{name}.security")
    routing = importlib.import_module(f"{name}.routing")
    names: dict[str, Any] = {n: getattr(root, n) for n in _ROOT_NAMES}
    names.update({n: getattr(responses, n) for n in _RESPONSE_NAMES})
    names.update({n: getattr(security, n) for n in _SECURITY_NAMES})
    names["APIRoute"] = routing.APIRoute
    names["App"] = root.TrioAPI if name == "trioapi" else root.FastAPI
    return SimpleNamespace(**names)


# --- models shared by the shapes ------------------------------------------------------


class Item(BaseModel):
    name: str
    price: float
    description: str | None = None
    tags: list[str] = []


class Message(BaseModel):
    message: str


class User(BaseModel):
    username: str
    email: str | None = None
    full_name: str | None = None


class UserIn(User):
    password: str


class Image(BaseModel):
    url: str
    name: str


class Offer(BaseModel):
    name: str
    items: list[Item]
    images: list[Image] | None = None
    attributes: dict[str, int] = {}


class ModelName(str, enum.Enum):  # noqa: UP042 - the shape FastAPI users write
    alexnet = "alexnet"
    resnet = "resnet"
    lenet = "lenet"


class Priority(int, enum.Enum):
    low = 1
    high = 2


class FilterParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(100, gt=0, le=100)
    offset: int = Field(0, ge=0)
    order_by: Literal["created_at", "updated_at"] = "created_at"
    tags: list[str] = []


class CommonHeaders(BaseModel):
    host: str
    save_data: bool
    x_tag: list[str] = []


class Cookies(BaseModel):
    session_id: str
    tracker: str | None = None


class FormData(BaseModel):
    username: str
    password: str
    remember: bool = False


class Invoice(BaseModel):
    id: str
    title: str | None = None
    customer: str
    total: float


class InvoiceEvent(BaseModel):
    description: str
    paid: bool


class InvoiceEventReceived(BaseModel):
    ok: bool


class Subscription(BaseModel):
    username: str
    monthly_fee: float
    start_date: datetime.datetime


class Rectangle(BaseModel):
    width: float
    height: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def area(self) -> float:
        return self.width * self.height


class Cat(BaseModel):
    pet_type: Literal["cat"]
    meows: int


class Dog(BaseModel):
    pet_type: Literal["dog"]
    barks: float


class Owner(BaseModel):
    pet: Cat | Dog = Field(discriminator="pet_type")
    name: str


class TreeNode(BaseModel):
    value: int
    children: list["TreeNode"] = []


class Measurement(BaseModel):
    id: uuid.UUID
    taken_at: datetime.datetime
    day: datetime.date
    duration: datetime.timedelta
    amount: Decimal
    ratio: float = Field(0.5, ge=0, le=1, description="Share of the whole")
    label: str = Field(..., min_length=1, max_length=20, examples=["a", "b"])
    secret: bytes | None = None


class ExampleItem(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Foo", "price": 35.4}]})
    name: str
    price: float


# --- paths and parameters -------------------------------------------------------------


def build_minimal(fw):
    app = fw.App()

    @app.get("/")
    async def root():
        return {"message": "Hello World"}

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: str | None = None):
        return {"item_id": item_id, "q": q}

    return app


def build_path_types(fw):
    app = fw.App()

    @app.get("/floats/{value}")
    def get_float(value: float):
        return value

    @app.get("/bools/{flag}")
    def get_bool(flag: bool):
        return flag

    @app.get("/uuids/{ident}")
    def get_uuid(ident: uuid.UUID):
        return ident

    @app.get("/files/{file_path:path}")
    def get_file(file_path: str):
        return file_path

    @app.get("/users/{user_id}/items/{item_id}")
    def user_item(
        user_id: int = fw.Path(title="The user", ge=1),
        item_id: str = fw.Path(min_length=3, max_length=8, pattern="^[a-z]+$"),
    ):
        return user_id

    return app


def build_crud_methods(fw):
    app = fw.App()

    @app.get("/items/{item_id}")
    def read(item_id: str) -> Item:
        return Item(name="x", price=1)

    @app.put("/items/{item_id}")
    def replace(item_id: str, item: Item) -> Item:
        return item

    @app.patch("/items/{item_id}")
    def update(item_id: str, item: Item):
        return item

    @app.delete("/items/{item_id}", status_code=204)
    def delete(item_id: str) -> None:
        return None

    @app.api_route("/any", methods=["GET", "POST"])
    def any_method():
        return {}

    @app.head("/head")
    def head():
        return None

    @app.options("/opts")
    def opts():
        return None

    return app


def build_enum_params(fw):
    app = fw.App()

    @app.get("/models/{model_name}")
    async def get_model(model_name: ModelName, priority: Priority = Priority.low):
        return {"model_name": model_name}

    @app.get("/many")
    async def many(models: list[ModelName] = fw.Query([]), kind: Literal["a", "b"] = "a"):
        return models

    return app


def build_query_validation(fw):
    app = fw.App()

    @app.get("/items/")
    async def read_items(
        q: str | None = fw.Query(
            None,
            alias="item-query",
            title="Query string",
            description="Search text",
            min_length=3,
            max_length=50,
            pattern="^fixedquery$",
        ),
        size: int = fw.Query(10, ge=1, le=100),
        weight: float = fw.Query(..., gt=0, lt=10.5, multiple_of=0.5),
        ids: list[int] = fw.Query(default=[1, 2]),
        names: list[str] | None = fw.Query(None),
        required_str: str = fw.Query(),
    ):
        return {}

    return app


def build_param_examples_deprecated(fw):
    app = fw.App()

    @app.get("/items/")
    async def read_items(
        q: str | None = fw.Query(None, examples=["foo", "bar"], deprecated=True),
        hidden: str | None = fw.Query(None, include_in_schema=False),
        sort: str = fw.Query(
            "asc",
            openapi_examples={
                "ascending": {"summary": "A to Z", "value": "asc"},
                "descending": {"summary": "Z to A", "description": "Reverse", "value": "desc"},
            },
        ),
        legacy: int | None = fw.Header(None, deprecated=True, description="Old header"),
    ):
        return {}

    return app


def build_header_params(fw):
    app = fw.App()

    @app.get("/items/")
    async def read_items(
        user_agent: str | None = fw.Header(None),
        strange_header: str | None = fw.Header(None, convert_underscores=False),
        x_token: list[str] | None = fw.Header(None),
        x_custom: str = fw.Header(alias="X-Custom-Name"),
    ):
        return {}

    return app


def build_cookie_params(fw):
    app = fw.App()

    @app.get("/items/")
    async def read_items(
        ads_id: str | None = fw.Cookie(None),
        session: str = fw.Cookie(alias="session-key", description="Session"),
    ):
        return {}

    return app


def build_annotated_params(fw):
    app = fw.App()

    def common(q: Annotated[str | None, fw.Query(max_length=10)] = None, skip: int = 0):
        return {"q": q, "skip": skip}

    @app.get("/items/{item_id}")
    async def read_item(
        item_id: Annotated[int, fw.Path(title="Item id", gt=0)],
        commons: Annotated[dict, fw.Depends(common)],
        x_key: Annotated[str, fw.Header()],
        size: Annotated[float | None, fw.Query(lt=100)] = None,
        tracker: Annotated[str | None, fw.Cookie()] = None,
    ):
        return {}

    return app


def build_param_models(fw):
    app = fw.App()

    @app.get("/items/")
    async def read_items(filter_query: Annotated[FilterParams, fw.Query()]):
        return filter_query

    @app.get("/headers/")
    async def read_headers(headers: Annotated[CommonHeaders, fw.Header()]):
        return headers

    @app.get("/cookies/")
    async def read_cookies(cookies: Annotated[Cookies, fw.Cookie()]):
        return cookies

    return app


# --- request bodies -------------------------------------------------------------------


def build_json_body(fw):
    app = fw.App()

    @app.post("/items/")
    async def create_item(item: Item):
        return item

    @app.put("/items/{item_id}")
    async def update_item(item_id: int, item: Item, q: str | None = None):
        return {}

    return app


def build_multiple_bodies(fw):
    app = fw.App()

    @app.put("/items/{item_id}")
    async def update_item(item_id: int, item: Item, user: User, importance: int = fw.Body(gt=0)):
        return {}

    @app.put("/embed/{item_id}")
    async def embed(item_id: int, item: Annotated[Item, fw.Body(embed=True)]):
        return {}

    @app.post("/optional")
    async def optional(item: Item | None = None):
        return {}

    @app.post("/scalar")
    async def scalar(value: int = fw.Body(), note: str = fw.Body("n", max_length=5)):
        return {}

    return app


def build_nested_bodies(fw):
    app = fw.App()

    @app.post("/offers/")
    async def create_offer(offer: Offer):
        return offer

    @app.post("/images/multiple/")
    async def create_images(images: list[Image]):
        return images

    @app.post("/index-weights/")
    async def create_weights(weights: dict[int, float]):
        return weights

    @app.post("/trees/")
    async def create_tree(tree: TreeNode) -> TreeNode:
        return tree

    return app


def build_body_examples(fw):
    app = fw.App()

    @app.put("/items/{item_id}")
    async def update_item(
        item_id: int,
        item: Annotated[
            Item,
            fw.Body(
                openapi_examples={
                    "normal": {
                        "summary": "A normal example",
                        "value": {"name": "Foo", "price": 35.4},
                    },
                    "invalid": {"summary": "Invalid", "value": {"name": "Baz", "price": "thirty"}},
                }
            ),
        ],
    ):
        return {}

    @app.post("/examples")
    async def with_examples(item: Annotated[Item, fw.Body(examples=[{"name": "A", "price": 1}])]):
        return {}

    @app.post("/model-examples")
    async def model_examples(item: ExampleItem) -> ExampleItem:
        return item

    return app


def build_special_types(fw):
    app = fw.App()

    @app.post("/measurements/")
    async def create(measurement: Measurement) -> Measurement:
        return measurement

    @app.get("/at/{when}")
    async def at(when: datetime.datetime, until: datetime.date | None = None):
        return {}

    return app


def build_discriminated_union(fw):
    app = fw.App()

    @app.post("/owners/")
    async def create_owner(owner: Owner) -> Owner:
        return owner

    @app.post("/pets/")
    async def create_pet(pet: Annotated[Cat | Dog, fw.Body(discriminator="pet_type")]):
        return pet

    return app


def build_form_fields(fw):
    app = fw.App()

    @app.post("/login/")
    async def login(username: str = fw.Form(), password: str = fw.Form(min_length=8)):
        return {"username": username}

    @app.post("/token")
    async def token(form: Annotated[fw.OAuth2PasswordRequestForm, fw.Depends()]):
        return {}

    return app


def build_form_model(fw):
    app = fw.App()

    @app.post("/login/")
    async def login(data: Annotated[FormData, fw.Form()]):
        return data

    return app


def build_file_uploads(fw):
    app = fw.App()

    @app.post("/files/")
    async def create_file(file: bytes = fw.File(description="Raw bytes")):
        return {"file_size": len(file)}

    @app.post("/uploadfile/")
    async def create_upload_file(file: fw.UploadFile):
        return {"filename": file.filename}

    @app.post("/uploadfiles/")
    async def create_upload_files(files: list[fw.UploadFile]):
        return {}

    @app.post("/optional-file/")
    async def optional_file(file: fw.UploadFile | None = None):
        return {}

    return app


def build_files_and_form(fw):
    app = fw.App()

    @app.post("/files/")
    async def create_file(
        file: Annotated[bytes, fw.File()],
        fileb: Annotated[fw.UploadFile, fw.File()],
        token: Annotated[str, fw.Form()],
        count: Annotated[int, fw.Form()] = 1,
    ):
        return {}

    return app


# --- responses ------------------------------------------------------------------------


def build_response_model(fw):
    app = fw.App()

    @app.post("/users/", response_model=User, status_code=201)
    async def create_user(user: UserIn):
        return user

    @app.get("/items/", response_model=list[Item])
    async def list_items():
        return []

    @app.get("/annotated")
    async def annotated() -> dict[str, int]:
        return {}

    @app.get("/none", response_model=None)
    async def no_model() -> fw.Response:
        return fw.Response()

    @app.get("/union", response_model=Union[Item, Message])  # noqa: UP007 - typing.Union on purpose
    async def union():
        return {"message": "x"}

    @app.get("/described", response_description="The item you asked for")
    async def described() -> Item:
        return Item(name="a", price=1)

    return app


def build_response_model_exclude(fw):
    app = fw.App()

    @app.get("/items/{item_id}/name", response_model=Item, response_model_include={"name"})
    async def name(item_id: str):
        return {}

    @app.get("/items/{item_id}/public", response_model=Item, response_model_exclude={"tags"})
    async def public(item_id: str):
        return {}

    @app.get("/items/{item_id}", response_model=Item, response_model_exclude_unset=True)
    async def unset(item_id: str):
        return {}

    @app.get(
        "/defaults",
        response_model=Item,
        response_model_exclude_none=True,
        response_model_exclude_defaults=True,
        response_model_by_alias=False,
    )
    async def defaults():
        return {}

    return app


def build_separate_io_schemas(fw):
    app = fw.App()

    @app.post("/items/")
    async def create(item: Item) -> Item:
        return item

    @app.get("/rectangles/")
    async def rectangle(rect: Rectangle) -> Rectangle:
        return rect

    return app


def build_separate_io_disabled(fw):
    app = fw.App(separate_input_output_schemas=False)

    @app.post("/items/")
    async def create(item: Item) -> Item:
        return item

    @app.get("/items/")
    async def list_items() -> list[Item]:
        return []

    return app


def build_extra_responses(fw):
    app = fw.App()

    @app.get(
        "/items/{item_id}",
        response_model=Item,
        responses={
            404: {"model": Message, "description": "Item not found"},
            302: {"description": "Moved"},
            "5XX": {"description": "Server trouble"},
            "default": {"description": "Anything else", "model": Message},
            200: {
                "content": {"image/png": {}},
                "description": "Item, as JSON or as an image",
            },
        },
    )
    async def read_item(item_id: str):
        return {}

    @app.post(
        "/things/",
        status_code=201,
        responses={
            409: {"model": Message},
            201: {"headers": {"X-Thing": {"description": "Id", "schema": {"type": "string"}}}},
        },
    )
    async def create_thing() -> Message:
        return Message(message="ok")

    return app


def build_response_classes(fw):
    app = fw.App()

    @app.get("/html", response_class=fw.HTMLResponse)
    async def html():
        return "<p>hi</p>"

    @app.get("/text", response_class=fw.PlainTextResponse)
    async def text():
        return "hi"

    @app.get("/redirect", response_class=fw.RedirectResponse, status_code=302)
    async def redirect():
        return "https://example.com"

    @app.get("/file", response_class=fw.FileResponse)
    async def file():
        return "x"

    @app.get("/stream", response_class=fw.StreamingResponse)
    async def stream():
        return None

    @app.get("/json", response_class=fw.JSONResponse, response_model=Item)
    async def json_item():
        return {}

    @app.get("/direct")
    async def direct() -> fw.HTMLResponse:
        return fw.HTMLResponse("x")

    return app


def build_default_response_class(fw):
    app = fw.App(default_response_class=fw.HTMLResponse)
    router = fw.APIRouter(prefix="/r", default_response_class=fw.PlainTextResponse)

    @router.get("/text")
    async def text():
        return "x"

    @app.get("/page")
    async def page():
        return "x"

    app.include_router(router)
    return app


def build_status_codes(fw):
    app = fw.App()

    @app.post("/created", status_code=201)
    async def created() -> Item:
        return Item(name="a", price=1)

    @app.delete("/gone", status_code=204)
    async def gone():
        return None

    @app.get("/not-modified", status_code=304)
    async def not_modified():
        return None

    @app.post("/accepted", status_code=202, response_model=Message)
    async def accepted():
        return {}

    return app


# --- document metadata ----------------------------------------------------------------


def build_app_metadata(fw):
    app = fw.App(
        title="ChimichangApp",
        summary="Deadpool's favorite app.",
        description="Chimichangas *rock*.\n\n## Items\n\nYou can **read items**.",
        version="0.0.1",
        terms_of_service="http://example.com/terms/",
        contact={"name": "Deadpoolio", "url": "http://x-force.example.com/", "email": "dp@x.com"},
        license_info={"name": "Apache 2.0", "identifier": "Apache-2.0"},
    )

    @app.get("/")
    async def root():
        return {}

    return app


def build_license_url(fw):
    app = fw.App(
        license_info={"name": "MIT", "url": "https://opensource.org/licenses/MIT"},
        openapi_url="/api/v1/openapi.json",
    )

    @app.get("/")
    async def root():
        return {}

    return app


def build_tags(fw):
    tags_metadata = [
        {"name": "users", "description": "Operations with users."},
        {
            "name": "items",
            "description": "Manage items.",
            "externalDocs": {"description": "More", "url": "https://example.com/"},
        },
    ]
    app = fw.App(openapi_tags=tags_metadata)

    @app.get("/users/", tags=["users"])
    async def get_users():
        return []

    @app.get("/items/", tags=["items", "extra"])
    async def get_items():
        return []

    class Tags(enum.Enum):
        items = "items"
        admin = "admin"

    @app.get("/admin/", tags=[Tags.admin])
    async def admin():
        return []

    return app


def build_servers(fw):
    app = fw.App(
        servers=[
            {"url": "https://stag.example.com", "description": "Staging environment"},
            {"url": "https://prod.example.com", "description": "Production environment"},
        ]
    )

    @app.get("/app")
    def read_main():
        return {}

    return app


def build_root_path(fw):
    app = fw.App(root_path="/api/v1")

    @app.get("/app")
    def read_main():
        return {}

    return app


def build_root_path_with_servers(fw):
    app = fw.App(root_path="/api/v1", servers=[{"url": "https://stag.example.com"}])

    @app.get("/app")
    def read_main():
        return {}

    return app


def build_operation_details(fw):
    app = fw.App()

    @app.post(
        "/items/",
        summary="Create an item",
        description="Create with all the info",
        operation_id="make_item",
        tags=["items"],
    )
    async def create_item(item: Item) -> Item:
        return item

    @app.get("/doc")
    async def docstring_description():
        """Read things.

        Long description with **markdown**.
        \f
        Internal notes that the document must not show.
        """
        return {}

    return app


def build_generate_unique_id(fw):
    def by_tag(route) -> str:
        return f"{route.tags[0]}-{route.name}"

    def by_name(route) -> str:
        return f"router-{route.name}"

    def by_path(route) -> str:
        return f"route-{route.path_format.replace('/', '_')}"

    app = fw.App(generate_unique_id_function=by_tag)
    router = fw.APIRouter(generate_unique_id_function=by_name)

    @app.get("/items/", tags=["items"])
    async def read_items() -> list[Item]:
        return []

    @router.post("/things/", tags=["things"])
    async def create_thing(item: Item) -> Item:
        return item

    @router.post("/special/", tags=["things"], generate_unique_id_function=by_path)
    async def special(item: Item, user: User) -> Message:
        return Message(message="x")

    app.include_router(router, prefix="/r")
    return app


def build_duplicate_names(fw):
    app = fw.App()
    router = fw.APIRouter(prefix="/v2")

    @app.post("/items/")
    async def create(item: Item):
        return item

    @router.post("/items/")
    async def create(item: Item, user: User):  # noqa: F811 - the same name on purpose
        return item

    app.include_router(router)
    return app


def build_openapi_extra(fw):
    app = fw.App()

    @app.get("/items/", openapi_extra={"x-aperture-labs-portal": "blue"})
    async def read_items():
        return {}

    @app.post(
        "/raw",
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/x-yaml": {"schema": Item.model_json_schema()},
                },
                "required": True,
            },
            "parameters": [{"name": "extra", "in": "query", "schema": {"type": "string"}}],
        },
    )
    async def raw(request: fw.Request):
        return {}

    return app


def build_callbacks(fw):
    app = fw.App()
    callback_router = fw.APIRouter()

    @callback_router.post(
        "{$callback_url}/invoices/{$request.body.id}", response_model=InvoiceEventReceived
    )
    def invoice_notification(body: InvoiceEvent):
        pass

    @app.post("/invoices/", callbacks=callback_router.routes)
    def create_invoice(invoice: Invoice, callback_url: str | None = fw.Query(None)):
        return {"msg": "Invoice received"}

    return app


def build_webhooks(fw):
    app = fw.App()

    @app.webhooks.post("new-subscription")
    def new_subscription(body: Subscription):
        """When a new user subscribes, we send a POST with the subscription."""

    @app.get("/users/")
    def read_users():
        return ["Rick", "Morty"]

    return app


def build_hidden_routes(fw):
    app = fw.App()
    hidden = fw.APIRouter(include_in_schema=False)

    @hidden.get("/secret")
    async def secret():
        return {}

    @app.get("/hidden", include_in_schema=False)
    async def hidden_route():
        return {}

    @app.get("/visible")
    async def visible():
        return {}

    app.include_router(hidden, prefix="/h")
    return app


def build_deprecated(fw):
    app = fw.App()
    old = fw.APIRouter(prefix="/old", deprecated=True)

    @old.get("/a")
    async def old_a():
        return {}

    @app.get("/elements/", tags=["items"], deprecated=True)
    async def read_elements():
        return []

    app.include_router(old)
    return app


def build_openapi_url_none(fw):
    app = fw.App(openapi_url=None)

    @app.get("/")
    async def root():
        return {}

    return app


# --- security -------------------------------------------------------------------------


def build_security_oauth2_password(fw):
    app = fw.App()
    oauth2 = fw.OAuth2PasswordBearer(
        tokenUrl="token", scopes={"me": "Read yourself.", "items": "Read items."}
    )

    async def current_user(scopes: fw.SecurityScopes, token: Annotated[str, fw.Depends(oauth2)]):
        return token

    @app.get("/users/me")
    async def me(user: Annotated[str, fw.Security(current_user, scopes=["me"])]):
        return user

    @app.get("/users/me/items")
    async def my_items(user: Annotated[str, fw.Security(current_user, scopes=["items", "me"])]):
        return []

    @app.get("/status")
    async def status(token: Annotated[str, fw.Depends(oauth2)]):
        return {}

    return app


def build_security_oauth2_flows(fw):
    app = fw.App()
    code = fw.OAuth2AuthorizationCodeBearer(
        authorizationUrl="https://auth.example.com/authorize",
        tokenUrl="https://auth.example.com/token",
        refreshUrl="https://auth.example.com/refresh",
        scopes={"read": "Read"},
        description="Code flow",
    )
    generic = fw.OAuth2(
        flows={
            "implicit": {"authorizationUrl": "https://auth.example.com/i", "scopes": {"a": "A"}},
            "clientCredentials": {"tokenUrl": "https://auth.example.com/cc"},
        },
        scheme_name="Generic",
    )

    @app.get("/code")
    async def with_code(token: Annotated[str | None, fw.Security(code, scopes=["read"])]):
        return {}

    @app.get("/generic")
    async def with_generic(token: Annotated[str, fw.Depends(generic)]):
        return {}

    return app


def build_security_http(fw):
    app = fw.App()
    basic = fw.HTTPBasic(realm="simple", description="Basic auth")
    bearer = fw.HTTPBearer(bearerFormat="JWT", scheme_name="JWTBearer", auto_error=False)
    digest = fw.HTTPDigest()

    @app.get("/basic")
    def with_basic(credentials: Annotated[fw.HTTPBasicCredentials, fw.Depends(basic)]):
        return {}

    @app.get("/bearer")
    def with_bearer(
        credentials: Annotated[fw.HTTPAuthorizationCredentials | None, fw.Depends(bearer)],
    ):
        return {}

    @app.get("/digest", dependencies=[fw.Depends(digest)])
    def with_digest():
        return {}

    return app


def build_security_api_key(fw):
    app = fw.App()
    header = fw.APIKeyHeader(name="X-API-Key", description="Key in a header")
    query = fw.APIKeyQuery(name="api_key", auto_error=False)
    cookie = fw.APIKeyCookie(name="session", scheme_name="CookieKey")

    @app.get("/header")
    def by_header(key: Annotated[str, fw.Depends(header)]):
        return {}

    @app.get("/query")
    def by_query(key: Annotated[str | None, fw.Depends(query)]):
        return {}

    @app.get("/both", dependencies=[fw.Depends(cookie), fw.Depends(header)])
    def both():
        return {}

    return app


def build_security_openid(fw):
    app = fw.App()
    oid = fw.OpenIdConnect(openIdConnectUrl="https://example.com/.well-known/openid-configuration")

    @app.get("/me")
    def me(token: Annotated[str, fw.Depends(oid)]):
        return {}

    return app


def build_app_level_security(fw):
    key = fw.APIKeyHeader(name="X-Key")
    app = fw.App(dependencies=[fw.Depends(key)])

    @app.get("/a")
    def a():
        return {}

    return app


# --- routers and dependencies ---------------------------------------------------------


def build_nested_routers(fw):
    async def get_token_header(x_token: Annotated[str, fw.Header()]):
        return x_token

    async def get_query_token(token: str):
        return token

    app = fw.App(dependencies=[fw.Depends(get_query_token)])
    items = fw.APIRouter(
        prefix="/items",
        tags=["items"],
        dependencies=[fw.Depends(get_token_header)],
        responses={404: {"description": "Not found"}},
    )
    sub = fw.APIRouter(prefix="/{item_id}/parts", tags=["parts"])

    @items.get("/")
    async def read_items():
        return {}

    @items.put("/{item_id}", tags=["custom"], responses={403: {"description": "Forbidden"}})
    async def update_item(item_id: str):
        return {}

    @sub.get("/{part_id}")
    async def read_part(item_id: str, part_id: int):
        return {}

    items.include_router(sub)
    admin = fw.APIRouter()

    @admin.post("/")
    async def update_admin():
        return {}

    app.include_router(items)
    app.include_router(
        admin,
        prefix="/admin",
        tags=["admin"],
        dependencies=[fw.Depends(get_token_header)],
        responses={418: {"description": "I'm a teapot"}},
    )
    return app


def build_dependency_params(fw):
    app = fw.App()

    class CommonQueryParams:
        def __init__(self, q: str | None = None, skip: int = 0, limit: int = 100):
            self.q = q

    def query_extractor(q: str | None = None):
        return q

    def query_or_cookie(
        q: Annotated[str, fw.Depends(query_extractor)], last: str | None = fw.Cookie(None)
    ):
        return q or last

    @app.get("/items/")
    async def read_items(commons: Annotated[CommonQueryParams, fw.Depends()]):
        return {}

    @app.get("/chain/")
    async def chain(
        value: Annotated[str, fw.Depends(query_or_cookie)],
        shared: Annotated[str | None, fw.Depends(query_extractor)],
    ):
        return {}

    @app.get("/body-dep/")
    async def body_dep(item: Annotated[Item, fw.Depends(lambda item: item)]):
        return {}

    return app


def build_special_parameters(fw):
    app = fw.App()

    @app.post("/special/{item_id}")
    async def special(
        item_id: int,
        request: fw.Request,
        response: fw.Response,
        background: fw.BackgroundTasks,
        q: int = 0,
    ):
        return {}

    return app


def build_router_route_class(fw):
    class CustomRoute(fw.APIRoute):
        pass

    app = fw.App()
    router = fw.APIRouter(route_class=CustomRoute, prefix="/custom", tags=["custom"])

    @router.get("/{name}")
    async def read(name: str) -> Message:
        return Message(message=name)

    app.include_router(router)
    return app


SHAPES: dict[str, Callable[[Any], Any]] = {
    name.removeprefix("build_"): value
    for name, value in sorted(globals().items())
    if name.startswith("build_")
}
"""Every shape, by name: the name of its fixture file."""
