"""Form fields, uploaded files and form models, read from URL-encoded and multipart bodies."""

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from trioapi.applications import TrioAPI
from trioapi.datastructures import UploadFile
from trioapi.param_functions import File, Form
from trioapi.testclient import TestClient


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str
    password: str


class Person(BaseModel):
    kind: Literal["person"]
    name: str


class Company(BaseModel):
    kind: Literal["company"]
    company_name: str


class Profile(BaseModel):
    name: str
    age: int


def make_app() -> TrioAPI:
    app = TrioAPI()

    @app.post("/login")
    async def login(username: Annotated[str, Form()], password: Annotated[str, Form()]):
        return {"username": username, "password": password}

    @app.post("/login-model")
    async def login_model(data: Annotated[Login, Form()]):
        return data

    @app.post("/contacts")
    async def contact(
        contact: Annotated[Person | Company | None, Form(discriminator="kind")] = None,
    ):
        return contact

    @app.post("/profiles")
    async def profile(
        token: Annotated[str, Form()], profile: Annotated[Profile | None, Form()] = None
    ):
        return {"token": token, "profile": profile}

    @app.post("/files")
    async def files(
        raw: Annotated[bytes, File()],
        upload: UploadFile,
        note: Annotated[str | None, Form()] = None,
    ):
        return {
            "raw": raw.decode(),
            "name": upload.filename,
            "content": (await upload.read()).decode(),
            "note": note,
        }

    @app.post("/many-files")
    async def many_files(files: Annotated[list[bytes], File()]):
        return [f.decode() for f in files]

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app())


def test_form_fields_are_read_by_name(client):
    response = client.post("/login", data={"username": "rick", "password": "secret"})
    assert response.json() == {"username": "rick", "password": "secret"}


def test_missing_and_empty_form_fields_are_reported_at_body_and_name(client):
    response = client.post("/login", data={"username": "", "other": "x"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "missing",
                "loc": ["body", "username"],
                "msg": "Field required",
                "input": None,
            },
            {
                "type": "missing",
                "loc": ["body", "password"],
                "msg": "Field required",
                "input": None,
            },
        ]
    }


def test_form_model_reads_its_fields_and_reports_extra_fields(client):
    ok = client.post("/login-model", data={"username": "rick", "password": "s"})
    assert ok.json() == {"username": "rick", "password": "s"}
    response = client.post("/login-model", data={"username": "rick", "password": "s", "x": "1"})
    assert response.json() == {
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["body", "x"],
                "msg": "Extra inputs are not permitted",
                "input": "1",
            }
        ]
    }


def test_form_model_missing_field_error_has_the_submitted_fields_as_input(client):
    response = client.post("/login-model", data={"username": "rick"})
    assert response.json() == {
        "detail": [
            {
                "type": "missing",
                "loc": ["body", "password"],
                "msg": "Field required",
                "input": {"username": "rick"},
            }
        ]
    }


def test_optional_union_form_model_is_none_when_none_of_its_fields_are_sent(client):
    assert client.post("/contacts", data={}).json() is None
    assert client.post("/contacts", data={"kind": "company", "company_name": "Acme"}).json() == {
        "kind": "company",
        "company_name": "Acme",
    }
    response = client.post("/contacts", data={"kind": "person"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "person", "name"]


def test_optional_form_model_next_to_a_plain_field(client):
    assert client.post("/profiles", data={"token": "t"}).json() == {"token": "t", "profile": None}
    response = client.post("/profiles", data={"token": "t", "name": "Rick"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "age"]


def test_files_as_bytes_and_as_upload_file_with_a_form_field(client):
    response = client.post(
        "/files",
        files={"raw": ("a.txt", b"raw bytes"), "upload": ("b.txt", b"uploaded")},
        data={"note": "hi"},
    )
    assert response.json() == {
        "raw": "raw bytes",
        "name": "b.txt",
        "content": "uploaded",
        "note": "hi",
    }


def test_missing_file_is_reported(client):
    response = client.post("/files", files={"raw": ("a.txt", b"x")})
    assert response.json() == {
        "detail": [
            {"type": "missing", "loc": ["body", "upload"], "msg": "Field required", "input": None}
        ]
    }


def test_several_files_under_one_name(client):
    response = client.post(
        "/many-files", files=[("files", ("a", b"one")), ("files", ("b", b"two"))]
    )
    assert response.json() == ["one", "two"]
