"""Pydantic models of an OpenAPI 3.1 document, field for field as FastAPI declares them.

Every object that the specification lets carry ``x-*`` extension fields accepts
unknown keys (``extra="allow"``). Fields whose OpenAPI name is a Python keyword
or starts with ``$`` have a trailing underscore or a plain name in Python and the
real name as their alias (``in_`` is ``"in"``, ``ref`` is ``"$ref"``,
``schema_`` is ``"schema"``); dump with ``by_alias=True`` to get the document.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, WithJsonSchema, with_config
from typing_extensions import TypedDict
from typing_extensions import deprecated as deprecated_marker

try:
    import email_validator  # noqa: F401  (only probed: pydantic's EmailStr needs it)
except ImportError:  # pragma: no cover - depends on the installed extras
    # Without email-validator the address is kept as given, but the schema
    # still says it is an e-mail, as FastAPI's fallback does.
    EmailStr = Annotated[str, WithJsonSchema({"type": "string", "format": "email"})]
else:
    from pydantic import EmailStr


class BaseModelWithConfig(BaseModel):
    """Base of the OpenAPI objects that accept specification extensions (``x-*``)."""

    model_config = ConfigDict(extra="allow")


# --- Metadata ------------------------------------------------------------------


class Contact(BaseModelWithConfig):
    """How to reach the people behind the API."""

    name: str | None = None
    url: AnyUrl | None = None
    email: EmailStr | None = None


class License(BaseModelWithConfig):
    """The licence the API is offered under: an SPDX ``identifier`` or a ``url``."""

    name: str
    identifier: str | None = None
    url: AnyUrl | None = None


class Info(BaseModelWithConfig):
    """The ``info`` object: title, version and descriptive metadata."""

    title: str
    summary: str | None = None
    description: str | None = None
    termsOfService: str | None = None
    contact: Contact | None = None
    license: License | None = None
    version: str


class ServerVariable(BaseModelWithConfig):
    """A substitution variable of a templated server URL."""

    enum: Annotated[list[str] | None, Field(min_length=1)] = None
    default: str
    description: str | None = None


class Server(BaseModelWithConfig):
    """A server the API is reachable at; ``url`` may be relative or templated."""

    url: AnyUrl | str
    description: str | None = None
    variables: dict[str, ServerVariable] | None = None


class Reference(BaseModel):
    """A ``{"$ref": ...}`` pointer to an object elsewhere in the document."""

    ref: str = Field(alias="$ref")


class ExternalDocumentation(BaseModelWithConfig):
    """A link to documentation outside the OpenAPI document."""

    description: str | None = None
    url: AnyUrl


# --- JSON Schema 2020-12 (the OpenAPI 3.1 schema object) ------------------------


class Discriminator(BaseModel):
    """Which property tells the alternatives of a ``oneOf``/``anyOf`` apart."""

    propertyName: str
    mapping: dict[str, str] | None = None


class XML(BaseModelWithConfig):
    """How a schema maps onto XML."""

    name: str | None = None
    namespace: str | None = None
    prefix: str | None = None
    attribute: bool | None = None
    wrapped: bool | None = None


SchemaType = Literal["array", "boolean", "integer", "null", "number", "object", "string"]
"""The primitive type names JSON Schema 2020-12 allows in ``type``."""


class Schema(BaseModelWithConfig):
    """A JSON Schema 2020-12 schema with OpenAPI's additions.

    Fields are grouped by the vocabulary that defines them; keywords that are
    not Python identifiers (``$ref``, ``not``, ``if``...) are aliased.
    """

    # Core vocabulary.
    schema_: str | None = Field(default=None, alias="$schema")
    vocabulary: str | None = Field(default=None, alias="$vocabulary")
    id: str | None = Field(default=None, alias="$id")
    anchor: str | None = Field(default=None, alias="$anchor")
    dynamicAnchor: str | None = Field(default=None, alias="$dynamicAnchor")
    ref: str | None = Field(default=None, alias="$ref")
    dynamicRef: str | None = Field(default=None, alias="$dynamicRef")
    defs: dict[str, SchemaOrBool] | None = Field(default=None, alias="$defs")
    comment: str | None = Field(default=None, alias="$comment")
    # Applying subschemas.
    allOf: list[SchemaOrBool] | None = None
    anyOf: list[SchemaOrBool] | None = None
    oneOf: list[SchemaOrBool] | None = None
    not_: SchemaOrBool | None = Field(default=None, alias="not")
    if_: SchemaOrBool | None = Field(default=None, alias="if")
    then: SchemaOrBool | None = None
    else_: SchemaOrBool | None = Field(default=None, alias="else")
    dependentSchemas: dict[str, SchemaOrBool] | None = None
    prefixItems: list[SchemaOrBool] | None = None
    items: SchemaOrBool | None = None
    contains: SchemaOrBool | None = None
    properties: dict[str, SchemaOrBool] | None = None
    patternProperties: dict[str, SchemaOrBool] | None = None
    additionalProperties: SchemaOrBool | None = None
    propertyNames: SchemaOrBool | None = None
    unevaluatedItems: SchemaOrBool | None = None
    unevaluatedProperties: SchemaOrBool | None = None
    # Structural validation.
    type: SchemaType | list[SchemaType] | None = None
    enum: list[Any] | None = None
    const: Any | None = None
    multipleOf: float | None = Field(default=None, gt=0)
    maximum: float | None = None
    exclusiveMaximum: float | None = None
    minimum: float | None = None
    exclusiveMinimum: float | None = None
    maxLength: int | None = Field(default=None, ge=0)
    minLength: int | None = Field(default=None, ge=0)
    pattern: str | None = None
    maxItems: int | None = Field(default=None, ge=0)
    minItems: int | None = Field(default=None, ge=0)
    uniqueItems: bool | None = None
    maxContains: int | None = Field(default=None, ge=0)
    minContains: int | None = Field(default=None, ge=0)
    maxProperties: int | None = Field(default=None, ge=0)
    minProperties: int | None = Field(default=None, ge=0)
    required: list[str] | None = None
    dependentRequired: dict[str, set[str]] | None = None
    # Semantic formats and string-encoded content.
    format: str | None = None
    contentEncoding: str | None = None
    contentMediaType: str | None = None
    contentSchema: SchemaOrBool | None = None
    # Basic metadata.
    title: str | None = None
    description: str | None = None
    default: Any | None = None
    deprecated: bool | None = None
    readOnly: bool | None = None
    writeOnly: bool | None = None
    examples: list[Any] | None = None
    # OpenAPI's own keywords.
    discriminator: Discriminator | None = None
    xml: XML | None = None
    externalDocs: ExternalDocumentation | None = None
    example: Annotated[
        Any | None,
        # Aliased: the ``deprecated`` field above shadows the name in this class body.
        deprecated_marker(
            "Deprecated in OpenAPI 3.1.0 that now uses JSON Schema 2020-12, "
            "although still supported. Use examples instead."
        ),
    ] = None


# A JSON Schema is an object or a boolean (``true`` accepts anything).
SchemaOrBool = Schema | bool


# --- Parameters, bodies and responses -------------------------------------------


@with_config(ConfigDict(extra="allow"))
class Example(TypedDict, total=False):
    """A named example value; a plain dict, so it is written exactly as given."""

    summary: str | None
    description: str | None
    value: Any | None
    externalValue: AnyUrl | None


class ParameterInType(Enum):
    """Where an operation parameter is read from."""

    query = "query"
    header = "header"
    path = "path"
    cookie = "cookie"


class Encoding(BaseModelWithConfig):
    """How one property of a multipart or form body is encoded."""

    contentType: str | None = None
    headers: dict[str, Header | Reference] | None = None
    style: str | None = None
    explode: bool | None = None
    allowReserved: bool | None = None


class MediaType(BaseModelWithConfig):
    """The schema and examples of one media type of a body."""

    schema_: Schema | Reference | None = Field(default=None, alias="schema")
    example: Any | None = None
    examples: dict[str, Example | Reference] | None = None
    encoding: dict[str, Encoding] | None = None


class ParameterBase(BaseModelWithConfig):
    """The fields a parameter shares with a response header."""

    description: str | None = None
    required: bool | None = None
    deprecated: bool | None = None
    style: str | None = None
    explode: bool | None = None
    allowReserved: bool | None = None
    schema_: Schema | Reference | None = Field(default=None, alias="schema")
    example: Any | None = None
    examples: dict[str, Example | Reference] | None = None
    content: dict[str, MediaType] | None = None


class Parameter(ParameterBase):
    """An operation parameter: its ``name`` and where it lives (``in``)."""

    name: str
    in_: ParameterInType = Field(alias="in")


class Header(ParameterBase):
    """A response header (a parameter without ``name`` and ``in``)."""


class RequestBody(BaseModelWithConfig):
    """The body an operation accepts, per media type."""

    description: str | None = None
    content: dict[str, MediaType]
    required: bool | None = None


class Link(BaseModelWithConfig):
    """A design-time link from a response to another operation."""

    operationRef: str | None = None
    operationId: str | None = None
    parameters: dict[str, Any | str] | None = None
    requestBody: Any | str | None = None
    description: str | None = None
    server: Server | None = None


class Response(BaseModelWithConfig):
    """One response of an operation: description, headers, content and links."""

    description: str
    headers: dict[str, Header | Reference] | None = None
    content: dict[str, MediaType] | None = None
    links: dict[str, Link | Reference] | None = None


class Operation(BaseModelWithConfig):
    """One HTTP method on one path."""

    tags: list[str] | None = None
    summary: str | None = None
    description: str | None = None
    externalDocs: ExternalDocumentation | None = None
    operationId: str | None = None
    parameters: list[Parameter | Reference] | None = None
    requestBody: RequestBody | Reference | None = None
    # Any: response codes sit beside ``x-*`` extensions in the same mapping.
    responses: dict[str, Response | Any] | None = None
    callbacks: dict[str, dict[str, PathItem] | Reference] | None = None
    deprecated: bool | None = None
    security: list[dict[str, list[str]]] | None = None
    servers: list[Server] | None = None


class PathItem(BaseModelWithConfig):
    """The operations available on one path."""

    ref: str | None = Field(default=None, alias="$ref")
    summary: str | None = None
    description: str | None = None
    get: Operation | None = None
    put: Operation | None = None
    post: Operation | None = None
    delete: Operation | None = None
    options: Operation | None = None
    head: Operation | None = None
    patch: Operation | None = None
    trace: Operation | None = None
    servers: list[Server] | None = None
    parameters: list[Parameter | Reference] | None = None


# --- Security schemes -----------------------------------------------------------


class SecuritySchemeType(Enum):
    """The kinds of security scheme OpenAPI knows."""

    apiKey = "apiKey"
    http = "http"
    oauth2 = "oauth2"
    openIdConnect = "openIdConnect"


class SecurityBase(BaseModelWithConfig):
    """Fields every security scheme has: its ``type`` and a description."""

    type_: SecuritySchemeType = Field(alias="type")
    description: str | None = None


class APIKeyIn(Enum):
    """Where an API key is sent."""

    query = "query"
    header = "header"
    cookie = "cookie"


class APIKey(SecurityBase):
    """An API key sent in a query parameter, header or cookie called ``name``."""

    type_: SecuritySchemeType = Field(default=SecuritySchemeType.apiKey, alias="type")
    in_: APIKeyIn = Field(alias="in")
    name: str


class HTTPBase(SecurityBase):
    """An HTTP ``Authorization`` scheme (``basic``, ``digest``...)."""

    type_: SecuritySchemeType = Field(default=SecuritySchemeType.http, alias="type")
    scheme: str


class HTTPBearer(HTTPBase):
    """The HTTP ``bearer`` scheme, with an optional hint of the token format."""

    scheme: Literal["bearer"] = "bearer"
    bearerFormat: str | None = None


class OAuthFlow(BaseModelWithConfig):
    """Fields every OAuth2 flow has."""

    refreshUrl: str | None = None
    scopes: dict[str, str] = {}


class OAuthFlowImplicit(OAuthFlow):
    """The OAuth2 implicit flow."""

    authorizationUrl: str


class OAuthFlowPassword(OAuthFlow):
    """The OAuth2 resource-owner password flow."""

    tokenUrl: str


class OAuthFlowClientCredentials(OAuthFlow):
    """The OAuth2 client-credentials flow."""

    tokenUrl: str


class OAuthFlowAuthorizationCode(OAuthFlow):
    """The OAuth2 authorization-code flow."""

    authorizationUrl: str
    tokenUrl: str


class OAuthFlows(BaseModelWithConfig):
    """The OAuth2 flows a scheme supports, at most one of each kind."""

    implicit: OAuthFlowImplicit | None = None
    password: OAuthFlowPassword | None = None
    clientCredentials: OAuthFlowClientCredentials | None = None
    authorizationCode: OAuthFlowAuthorizationCode | None = None


class OAuth2(SecurityBase):
    """An OAuth2 security scheme."""

    type_: SecuritySchemeType = Field(default=SecuritySchemeType.oauth2, alias="type")
    flows: OAuthFlows


class OpenIdConnect(SecurityBase):
    """An OpenID Connect scheme, described by its discovery URL."""

    type_: SecuritySchemeType = Field(default=SecuritySchemeType.openIdConnect, alias="type")
    openIdConnectUrl: str


SecurityScheme = APIKey | HTTPBase | OAuth2 | OpenIdConnect | HTTPBearer
"""Any of the security scheme objects."""


# --- The document ---------------------------------------------------------------


class Components(BaseModelWithConfig):
    """Reusable objects that the rest of the document points at with ``$ref``."""

    schemas: dict[str, Schema | Reference] | None = None
    responses: dict[str, Response | Reference] | None = None
    parameters: dict[str, Parameter | Reference] | None = None
    examples: dict[str, Example | Reference] | None = None
    requestBodies: dict[str, RequestBody | Reference] | None = None
    headers: dict[str, Header | Reference] | None = None
    securitySchemes: dict[str, SecurityScheme | Reference] | None = None
    links: dict[str, Link | Reference] | None = None
    # Any: callbacks sit beside ``x-*`` extensions in the same mapping.
    callbacks: dict[str, dict[str, PathItem] | Reference | Any] | None = None
    pathItems: dict[str, PathItem | Reference] | None = None


class Tag(BaseModelWithConfig):
    """Metadata of a tag that groups operations."""

    name: str
    description: str | None = None
    externalDocs: ExternalDocumentation | None = None


class OpenAPI(BaseModelWithConfig):
    """The root of an OpenAPI 3.1 document."""

    openapi: str
    info: Info
    jsonSchemaDialect: str | None = None
    servers: list[Server] | None = None
    # Any: paths sit beside ``x-*`` extensions in the same mapping.
    paths: dict[str, PathItem | Any] | None = None
    webhooks: dict[str, PathItem | Reference] | None = None
    components: Components | None = None
    security: list[dict[str, list[str]]] | None = None
    tags: list[Tag] | None = None
    externalDocs: ExternalDocumentation | None = None


# The recursive models name classes defined after them; resolve those now.
Schema.model_rebuild()
Encoding.model_rebuild()
Operation.model_rebuild()
