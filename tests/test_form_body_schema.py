"""The OpenAPI schema of form bodies holding parameter models, as FastAPI 0.163 documents them.

A form is flat, so the generated ``Body_<id>`` model shows plain form
parameters as properties and each form model as an ``allOf`` entry; also
how parameter declarations take pydantic metadata from ``Annotated``.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from trioapi import Body, Depends, File, Form, TrioAPI
from trioapi.testclient import TestClient

REF = "#/components/schemas/"


def body_schema(app: TrioAPI, media_type: str = "application/x-www-form-urlencoded") -> Any:
    document = app.openapi()
    body = document["paths"]["/"]["post"]["requestBody"]
    schema = body["content"][media_type]["schema"]
    if "$ref" in schema:
        return body, document["components"]["schemas"][schema["$ref"].removeprefix(REF)]
    return body, schema


class Count(BaseModel):
    count: int = 1


class Label(BaseModel):
    label: str = "default"


def test_a_required_nullable_form_union_needs_one_of_its_fields():
    app = TrioAPI()

    @app.post("/")
    def read(data: Annotated[Count | Label | None, Form()]) -> Any:
        return data

    body, schema = body_schema(app)
    assert body["required"] is True
    assert schema["title"] == "Body_read__post"
    assert schema["allOf"] == [
        {"not": {"not": {"anyOf": [{"required": ["count"]}, {"required": ["label"]}]}}},
        {"anyOf": [{"$ref": f"{REF}Count"}, {"$ref": f"{REF}Label"}], "title": "Data"},
    ]
    assert "properties" not in schema
    client = TestClient(app)
    assert client.post("/", data={"count": "2"}).json() == {"count": 2}


def test_an_optional_form_model_that_keeps_extras_is_absent_only_when_the_form_is_empty():
    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str

    app = TrioAPI()

    @app.post("/")
    def read(data: Annotated[Strict | None, Form()] = None) -> Any:
        return data

    body, schema = body_schema(app)
    assert "required" not in body
    assert schema["allOf"] == [
        {"anyOf": [{"maxProperties": 0}, {"anyOf": [{"$ref": f"{REF}Strict"}], "title": "Data"}]}
    ]


def test_a_form_model_read_by_name_or_alias_is_shown_inline_with_either_key_required():
    class First(BaseModel):
        model_config = ConfigDict(populate_by_name=True)
        value: int = Field(alias="first")

    class Second(BaseModel):
        second: int

    app = TrioAPI()

    @app.post("/")
    def submit(first: Annotated[First, Form()], second: Annotated[Second, Form()]) -> Any:
        return [first, second]

    _, schema = body_schema(app)
    component = app.openapi()["components"]["schemas"]["First"]
    assert component["required"] == ["first"]  # the shared schema is left as it is
    assert schema["allOf"] == [
        {
            **component,
            "required": [],
            "allOf": [{"anyOf": [{"required": ["first"]}, {"required": ["value"]}]}],
        },
        {"$ref": f"{REF}Second"},
    ]


def test_dependencies_reading_different_form_models_under_one_name_are_all_documented():
    app = TrioAPI()

    def dependency(data: Annotated[Count, Form()]) -> Count:
        return data

    @app.post("/")
    def submit(data: Annotated[Label, Form()], count: Annotated[Count, Depends(dependency)]):
        return [count, data]

    _, schema = body_schema(app)
    assert schema["allOf"] == [{"$ref": f"{REF}Label"}, {"$ref": f"{REF}Count"}]
    response = TestClient(app).post("/", data={"count": "3", "label": "x"})
    assert response.json() == [{"count": 3}, {"label": "x"}]


def test_plain_parameters_are_properties_and_a_second_one_on_the_same_key_a_condition():
    app = TrioAPI()

    @app.post("/")
    def upload(
        profile: Annotated[Label, Form()],
        files: Annotated[list[bytes], File()],
        last: Annotated[bytes, File(alias="files")],
    ) -> int:
        return len(files)

    _, schema = body_schema(app, "multipart/form-data")
    assert set(schema["properties"]) == {"files"}
    assert schema["properties"]["files"]["type"] == "array"
    assert schema["required"] == ["files"]
    assert schema["allOf"][0] == {"$ref": f"{REF}Label"}
    assert schema["allOf"][1]["properties"]["files"]["type"] == "string"


class Cat(BaseModel):
    pet_type: Literal["cat"] = "cat"


class Dog(BaseModel):
    pet_type: Literal["dog"] = "dog"


Pet = Annotated[Annotated[Cat, Tag("cat")] | Annotated[Dog, Tag("dog")], Discriminator("pet_type")]


def test_a_declaration_given_as_the_default_takes_the_bare_type_as_fastapi_does():
    app = TrioAPI()

    @app.post("/")
    async def assign(pet: Pet = Body()) -> Any:
        return pet

    @app.post("/annotated")
    async def annotated(pet: Annotated[Pet, Body()]) -> Any:
        return pet

    paths = app.openapi()["paths"]
    default_declared = paths["/"]["post"]["requestBody"]["content"]["application/json"]
    assert "anyOf" in default_declared["schema"]
    assert "discriminator" not in default_declared["schema"]
    annotated_body = paths["/annotated"]["post"]["requestBody"]["content"]["application/json"]
    assert "oneOf" in annotated_body["schema"]
    assert TestClient(app).post("/", json={"pet_type": "dog"}).json() == {"pet_type": "dog"}


def test_a_pydantic_field_in_annotated_describes_an_undeclared_query_parameter():
    app = TrioAPI()

    @app.get("/")
    def search(q: Annotated[str, Field(description="Query string")]) -> str:
        return q

    (parameter,) = app.openapi()["paths"]["/"]["get"]["parameters"]
    assert parameter["description"] == "Query string"
    assert parameter["schema"] == {"type": "string", "description": "Query string", "title": "Q"}
    assert TestClient(app).get("/", params={"q": "x"}).json() == "x"
