"""Form models and unions of form models, read from a flat form as FastAPI 0.163 reads them."""

from typing import Annotated, Literal

from pydantic import BaseModel

from trioapi import File, Form, TrioAPI, UploadFile
from trioapi.testclient import TestClient


class TextForm(BaseModel):
    kind: Literal["text"]
    value: str
    enabled: bool = False


class ListForm(BaseModel):
    kind: Literal["list"]
    value: list[str]


def make_app() -> TrioAPI:
    app = TrioAPI()

    @app.post("/union")
    def union(data: Annotated[TextForm | ListForm | None, Form()] = None):
        return data

    @app.post("/discriminated")
    def discriminated(
        data: Annotated[TextForm | ListForm | None, Form(discriminator="kind")] = None,
    ):
        return data

    return app


def test_each_union_branch_reads_the_form_in_its_own_shape():
    client = TestClient(make_app())
    for path in ("/union", "/discriminated"):
        text = client.post(path, data={"kind": "text", "value": "hello"})
        assert text.json() == {"kind": "text", "value": "hello", "enabled": False}
        many = client.post(path, data={"kind": "list", "value": ["", "blue"]})
        assert many.json() == {"kind": "list", "value": ["", "blue"]}


def test_an_optional_union_is_none_when_none_of_its_fields_is_sent():
    client = TestClient(make_app())
    assert client.post("/union").json() is None
    assert client.post("/union", data={"unknown": "x"}).json() is None


def test_an_empty_form_field_counts_as_missing_in_a_branch():
    error = TestClient(make_app()).post("/union", data={"kind": "text", "value": ""})
    detail = error.json()["detail"][0]
    assert (detail["type"], detail["loc"]) == ("missing", ["body", "TextForm", "value"])


def test_a_form_model_field_left_empty_takes_its_default():
    app = TrioAPI()

    @app.post("/")
    def read(data: Annotated[TextForm, Form()]):
        return data

    response = TestClient(app).post("/", data={"kind": "text", "value": "v", "enabled": ""})
    assert response.json() == {"kind": "text", "value": "v", "enabled": False}


def test_reading_an_upload_as_bytes_does_not_consume_it_for_other_parameters():
    app = TrioAPI()

    @app.post("/")
    async def read(
        upload: Annotated[UploadFile, File()], raw: Annotated[bytes, File(alias="upload")]
    ):
        return [upload.file.tell(), (await upload.read()).decode(), raw.decode()]

    response = TestClient(app).post("/", files={"upload": ("a.txt", b"abc")})
    assert response.json() == [0, "abc", "abc"]


def test_a_form_with_a_multipart_parameter_is_documented_as_multipart():
    app = TrioAPI()

    @app.post("/")
    def read(
        a: Annotated[str, Form()],
        b: Annotated[str, Form(media_type="multipart/form-data")],
    ):
        return a + b

    body = app.openapi()["paths"]["/"]["post"]["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
