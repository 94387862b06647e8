"""Parsing of the ``Authorization`` request header."""


def get_authorization_scheme_param(authorization_header_value: str | None) -> tuple[str, str]:
    """Split an ``Authorization`` header value into its scheme and its parameter.

    The value is split at the first space; surrounding whitespace is dropped
    from the parameter. A missing or empty header gives two empty strings.

    Args:
        authorization_header_value: The raw header value, or ``None``.

    Returns:
        ``(scheme, param)``, for example ``("Bearer", "abc")`` for ``"Bearer abc"``.
    """
    if not authorization_header_value:
        return "", ""
    scheme, _, param = authorization_header_value.partition(" ")
    return scheme, param.strip()
