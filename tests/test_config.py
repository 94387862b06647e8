from __future__ import annotations

from pathlib import Path

import pytest

from trioapi.config import Config, Environ, EnvironError
from trioapi.datastructures import URL, CommaSeparatedStrings, Secret


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / ".env"
    path.write_text(
        "# comment\n"
        "DATABASE_URL=postgres://user:pass@localhost/db\n"
        "SECRET_KEY = 12345\n"
        "HOSTS='a.com, b.com'\n"
        'QUOTED="it\'s"\n'
        "HALF='open\n"
        "\n"
        "no equals sign here\n",
        encoding="utf-8",
    )
    return path


def test_values_come_from_environ_then_file_then_default(env_file: Path) -> None:
    config = Config(env_file, environ={"SECRET_KEY": "from-env"})

    assert config("SECRET_KEY") == "from-env"
    assert config("DATABASE_URL", cast=URL).password == "pass"
    assert config("TIMEOUT", cast=int, default="10") == 10
    assert config("MISSING", default=None) is None
    assert config("HOSTS", cast=CommaSeparatedStrings) == ["a.com", "b.com"]
    assert config("QUOTED") == "it's"
    assert config("HALF") == "'open"


def test_missing_key_without_default_raises_key_error() -> None:
    with pytest.raises(KeyError, match="Config 'NOPE' is missing, and has no default."):
        Config(environ={}).get("NOPE")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("0", False), ("False", False)],
)
def test_bool_accepts_four_spellings(raw: str, expected: bool) -> None:
    assert Config(environ={"FLAG": raw})("FLAG", cast=bool) is expected


def test_bad_casts_raise_value_error_naming_the_key() -> None:
    config = Config(environ={"FLAG": "yes", "PORT": "eighty"})

    with pytest.raises(ValueError, match="Config 'FLAG' has value 'yes'. Not a valid bool."):
        config("FLAG", cast=bool)
    with pytest.raises(ValueError, match="Config 'PORT' has value 'eighty'. Not a valid int."):
        config("PORT", cast=int)


def test_secret_cast_hides_the_value() -> None:
    secret = Config(environ={"KEY": "hunter2"})("KEY", cast=Secret)

    assert repr(secret) == "Secret('**********')"
    assert str(secret) == "hunter2"


def test_env_prefix_is_prepended() -> None:
    config = Config(environ={"APP_DEBUG": "1", "DEBUG": "0"}, env_prefix="APP_")

    assert config("DEBUG", cast=bool) is True


def test_missing_env_file_warns(tmp_path: Path) -> None:
    path = tmp_path / "absent.env"

    with pytest.warns(UserWarning, match="Config file '.*absent.env' not found."):
        Config(path, environ={})


def test_environ_refuses_changes_to_keys_already_read() -> None:
    environ = Environ({"A": "1"})
    environ["B"] = "2"
    del environ["B"]

    assert environ["A"] == "1"
    with pytest.raises(
        EnvironError, match=r"set environ\['A'\], but the value has already been read"
    ):
        environ["A"] = "2"
    with pytest.raises(EnvironError, match=r"delete environ\['A'\]"):
        del environ["A"]
    assert list(environ) == ["A"]
    assert len(environ) == 1
