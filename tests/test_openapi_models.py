"""The OpenAPI document models: aliases, extension fields and validation."""

import pytest
from pydantic import ValidationError

from trioapi.openapi import constants
from trioapi.openapi import models as m


def dump(model) -> dict:
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def test_constants_match_fastapi():
    assert constants.REF_PREFIX == "#/components/schemas/"
    assert constants.REF_TEMPLATE.format(model="Item") == "#/components/schemas/Item"
    assert constants.METHODS_WITH_BODY == {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}


def test_full_document_round_trips_through_the_models():
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "TrioAPI",
            "version": "0.1.0",
            "contact": {"name": "Team", "url": "https://example.com/", "email": "a@example.com"},
            "license": {"name": "MIT", "identifier": "MIT"},
            "x-logo": {"url": "logo.png"},
        },
        "servers": [{"url": "/api", "variables": {"v": {"default": "1", "enum": ["1", "2"]}}}],
        "paths": {
            "/items/{item_id}": {
                "get": {
                    "operationId": "read_item",
                    "parameters": [
                        {
                            "name": "item_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        },
                        {"$ref": "#/components/parameters/q"},
                    ],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Item"}
                                }
                            },
                            "headers": {"X-Rate": {"schema": {"type": "integer"}}},
                        },
                        "x-extra": True,
                    },
                    "security": [{"OAuth2PasswordBearer": ["me"]}],
                    "x-internal": "yes",
                },
            },
        },
        "components": {
            "schemas": {
                "Item": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "any": True},
                    "required": ["name"],
                    "title": "Item",
                }
            },
            "securitySchemes": {
                "OAuth2PasswordBearer": {
                    "type": "oauth2",
                    "flows": {"password": {"scopes": {"me": "Me"}, "tokenUrl": "token"}},
                },
                "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
            },
        },
        "tags": [{"name": "items", "externalDocs": {"url": "https://example.com/"}}],
        "webhooks": {"new": {"post": {"responses": {"200": {"description": "OK"}}}}},
    }
    assert dump(m.OpenAPI.model_validate(document)) == document


def test_schema_keywords_with_dollar_or_python_keyword_names_are_aliased():
    schema = m.Schema.model_validate(
        {
            "$ref": "#/x",
            "$defs": {"A": {"type": "string"}},
            "not": {"type": "null"},
            "if": True,
            "else": False,
        }
    )
    assert schema.ref == "#/x"
    assert schema.not_ == m.Schema(type="null")
    assert schema.if_ is True
    assert dump(schema) == {
        "$ref": "#/x",
        "$defs": {"A": {"type": "string"}},
        "not": {"type": "null"},
        "if": True,
        "else": False,
    }


def test_schema_rejects_unknown_type_names_and_negative_lengths():
    with pytest.raises(ValidationError, match="type"):
        m.Schema.model_validate({"type": "str"})
    with pytest.raises(ValidationError, match="minLength"):
        m.Schema.model_validate({"minLength": -1})


def test_reference_and_discriminator_do_not_accept_extensions():
    assert m.Reference.model_config.get("extra") is None
    assert dump(m.Reference.model_validate({"$ref": "#/a", "x-b": 1})) == {"$ref": "#/a"}


def test_parameter_needs_a_known_location():
    parameter = m.Parameter.model_validate({"name": "q", "in": "query"})
    assert parameter.in_ is m.ParameterInType.query
    with pytest.raises(ValidationError, match="in"):
        m.Parameter.model_validate({"name": "q", "in": "body"})


def test_media_type_schema_is_aliased_and_examples_are_plain_dicts():
    media = m.MediaType.model_validate(
        {
            "schema": {"type": "string"},
            "examples": {"one": {"summary": "One", "value": 1, "x-a": 2}},
        }
    )
    assert media.schema_ == m.Schema(type="string")
    assert media.examples == {"one": {"summary": "One", "value": 1, "x-a": 2}}


def test_security_scheme_models_fill_in_their_type():
    assert dump(m.HTTPBearer()) == {"type": "http", "scheme": "bearer"}
    assert dump(m.HTTPBase(scheme="basic")) == {"type": "http", "scheme": "basic"}
    assert dump(m.APIKey.model_validate({"in": "cookie", "name": "s"})) == {
        "type": "apiKey",
        "in": "cookie",
        "name": "s",
    }
    assert dump(m.OpenIdConnect(openIdConnectUrl="/o")) == {
        "type": "openIdConnect",
        "openIdConnectUrl": "/o",
    }
    flows = m.OAuthFlows(clientCredentials=m.OAuthFlowClientCredentials(tokenUrl="t"))
    assert dump(m.OAuth2(flows=flows)) == {
        "type": "oauth2",
        "flows": {"clientCredentials": {"scopes": {}, "tokenUrl": "t"}},
    }


def test_security_scheme_type_and_location_enums():
    assert [t.value for t in m.SecuritySchemeType] == ["apiKey", "http", "oauth2", "openIdConnect"]
    assert [t.value for t in m.APIKeyIn] == ["query", "header", "cookie"]
    assert [t.value for t in m.ParameterInType] == ["query", "header", "path", "cookie"]


def test_security_base_requires_a_type():
    with pytest.raises(ValidationError, match="type"):
        m.SecurityBase.model_validate({"description": "d"})
    assert dump(m.SecurityBase.model_validate({"type": "http", "x-a": 1})) == {
        "type": "http",
        "x-a": 1,
    }


def test_server_variable_enum_may_not_be_empty():
    with pytest.raises(ValidationError, match="enum"):
        m.ServerVariable.model_validate({"default": "a", "enum": []})


def test_contact_email_is_validated():
    with pytest.raises(ValidationError, match="email"):
        m.Contact.model_validate({"email": "not an address"})


def test_operation_callbacks_nest_path_items():
    operation = m.Operation.model_validate(
        {
            "callbacks": {
                "event": {
                    "{$request.body#/url}": {"post": {"responses": {"200": {"description": "OK"}}}}
                }
            }
        }
    )
    assert isinstance(operation.callbacks["event"]["{$request.body#/url}"], m.PathItem)


def test_models_accept_extension_fields_where_openapi_allows_them():
    for model, data in [
        (m.Info, {"title": "t", "version": "1"}),
        (m.Tag, {"name": "n"}),
        (m.Response, {"description": "d"}),
        (m.Components, {}),
        (m.OAuthFlowPassword, {"tokenUrl": "t"}),
    ]:
        assert dump(model.model_validate({**data, "x-ext": [1]}))["x-ext"] == [1]
