"""OpenAPI: the document models, the generator's constants and the docs pages."""
