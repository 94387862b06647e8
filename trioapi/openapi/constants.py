"""Constants shared by the OpenAPI generator and the routes."""

METHODS_WITH_BODY = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}
"""Methods whose operations may declare a request body (FastAPI's set, GET included)."""

REF_PREFIX = "#/components/schemas/"
"""Where component schemas live, as a JSON pointer prefix for ``$ref``."""

REF_TEMPLATE = "#/components/schemas/{model}"
"""``REF_PREFIX`` as a pydantic ``ref_template``."""
