"""Mailer.from_config() and Mailer.from_env(): every setting of SETTINGS read from a
mapping or from MAILSPEC_* variables, the same Mailer from both, and a bad value a
ConfigError naming the setting as it was given, never a credential."""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailspec import (
    AllProvidersFailed,
    ConfigError,
    Mailer,
    Message,
    TransportError,
    ValidationError,
)
from mailspec.mailer.config import SETTINGS
from mailspec.sandbox import Fault, Sandbox

SECRET = "sekrit-config-4b2"
URLS = [f"sendcloud://u:{SECRET}@", f"cloudmails://{SECRET}@"]

CONFIG = {
    "providers": URLS,
    "strategy": "weighted",
    "weights": [3, 1],
    "max_attempts": 2,
    "deadline": 12.5,
    "backoff": 0.25,
    "backoff_max": 4,
    "on_ambiguous": "failover",
    "on_unsupported": "skip",
    "breaker_threshold": None,
    "rate_limit": False,
    "rate_limit_wait": 0.5,
    "ledger": False,
    "telemetry": False,
}
ENV = {
    "MAILSPEC_PROVIDERS": " ".join(URLS),
    "MAILSPEC_STRATEGY": "weighted",
    "MAILSPEC_WEIGHTS": "3,1",
    "MAILSPEC_MAX_ATTEMPTS": "2",
    "MAILSPEC_DEADLINE": "12.5",
    "MAILSPEC_BACKOFF": "0.25",
    "MAILSPEC_BACKOFF_MAX": "4",
    "MAILSPEC_ON_AMBIGUOUS": "failover",
    "MAILSPEC_ON_UNSUPPORTED": "skip",
    "MAILSPEC_BREAKER_THRESHOLD": "none",
    "MAILSPEC_RATE_LIMIT": "false",
    "MAILSPEC_RATE_LIMIT_WAIT": "0.5",
    "MAILSPEC_LEDGER": "no",
    "MAILSPEC_TELEMETRY": "off",
}


def settings_of(mailer: Mailer) -> tuple[object, ...]:
    return (
        mailer.providers,
        mailer.strategy,
        mailer.max_attempts,
        mailer.deadline,
        (mailer.backoff, mailer.backoff_max),
        mailer.on_ambiguous,
        mailer.on_unsupported,
        [mailer.breaker(k) for k in mailer.providers],
        mailer.rate_limit_wait,
        mailer.ledger,
    )


def test_the_mapping_and_the_environment_make_the_same_mailer() -> None:
    from_config, from_env = Mailer.from_config(CONFIG), Mailer.from_env(ENV)
    assert settings_of(from_config) == settings_of(from_env) == (
        ["sendcloud", "cloudmails"], "weighted", 2, 12.5, (0.25, 4.0), "failover", "skip",
        [None, None], 0.5, None,
    )  # fmt: skip
    assert SECRET not in repr(from_config)


def test_options_win_over_the_settings() -> None:
    mailer = Mailer.from_env({**ENV, "MAILSPEC_WEIGHTS": ""}, strategy="failover", deadline=3)
    assert (mailer.strategy, mailer.deadline) == ("failover", 3.0)


def test_the_store_setting(tmp_path: Path) -> None:
    from mailspec.stores.sqlite import SqliteStore

    mailer = Mailer.from_config({"providers": URLS, "store": f"sqlite:///{tmp_path / 's.db'}"})
    assert isinstance(mailer.store, SqliteStore)


def test_every_mailer_parameter_is_a_setting() -> None:
    """A new Mailer parameter gets a setting (and a row in the docs), or is a callable
    no configuration can hold."""
    parameters = set(inspect.signature(Mailer).parameters)
    callables = {"on_attempt", "clock", "sleep", "random"}
    assert parameters - callables == {s.key for s in SETTINGS} - {"timeout"}


def test_the_docs_table_lists_every_setting() -> None:
    table = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    for setting in SETTINGS:
        assert f"| `{setting.key}` | `{setting.variable}` |" in table


@pytest.mark.parametrize(
    ("env", "variable", "shown"),
    [
        ({"MAILSPEC_PROVIDERS": " , "}, "MAILSPEC_PROVIDERS", None),
        ({"MAILSPEC_PROVIDERS": f"nosuch://{SECRET}@"}, "MAILSPEC_PROVIDERS", None),
        ({"MAILSPEC_STORE": f"mongo://u:{SECRET}@x"}, "MAILSPEC_STORE", None),
        ({"MAILSPEC_DEADLINE": "soon"}, "MAILSPEC_DEADLINE", "'soon'"),
        ({"MAILSPEC_DEADLINE": "-1"}, "MAILSPEC_DEADLINE", "must be a positive number"),
        ({"MAILSPEC_MAX_ATTEMPTS": "2.5"}, "MAILSPEC_MAX_ATTEMPTS", "whole number"),
        ({"MAILSPEC_RATE_LIMIT": "maybe"}, "MAILSPEC_RATE_LIMIT", "true or false"),
        ({"MAILSPEC_ON_AMBIGUOUS": "retry"}, "MAILSPEC_ON_AMBIGUOUS", "'retry'"),
        ({"MAILSPEC_STRATEGY": "random"}, "MAILSPEC_STRATEGY", "'random'"),
        ({"MAILSPEC_TIMEOUT": "inf"}, "MAILSPEC_TIMEOUT", "expected a number"),
        ({"MAILSPEC_CLAIM_LEASE": "1"}, "MAILSPEC_CLAIM_LEASE", "at least the deadline"),
    ],
)
def test_a_bad_value_is_one_error_naming_the_variable(
    env: dict[str, str], variable: str, shown: str | None
) -> None:
    env = {"MAILSPEC_PROVIDERS": f"cloudmails://{SECRET}@", **env}
    with pytest.raises(ConfigError) as caught:
        Mailer.from_env(env)
    assert caught.value.field == variable
    assert str(caught.value).startswith(f"{variable}: ")
    assert SECRET not in str(caught.value)
    if shown is not None:
        assert shown in str(caught.value)
    assert isinstance(caught.value, ValidationError)  # what callers caught before


def test_a_mapping_error_names_the_key_and_an_unknown_key_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        Mailer.from_config({"providers": URLS, "deadline": "soon"})
    assert caught.value.field == "deadline"
    with pytest.raises(ConfigError, match=r"unknown setting.*dedline") as unknown:
        Mailer.from_config({"providers": URLS, "dedline": 5})
    assert unknown.value.field == "dedline"
    with pytest.raises(ConfigError, match="expected a list") as bad_list:
        Mailer.from_config({"providers": [1, 2]})
    assert bad_list.value.field == "providers"


@pytest.fixture
def slow_sandbox() -> Iterator[Sandbox]:
    with Sandbox(["cloudmails"], slow_seconds=1.0) as running:
        yield running


def message() -> Message:
    return Message(from_email="a@example.com", to=["b@example.org"], subject="s", html="<p>t</p>")


def test_the_timeout_applies_where_a_url_gives_none(slow_sandbox: Sandbox) -> None:
    server = slow_sandbox["cloudmails"]
    env = {"MAILSPEC_PROVIDERS": server.url, "MAILSPEC_TIMEOUT": "0.2", "MAILSPEC_DEADLINE": "5"}
    server.faults.queue(Fault.SLOW)
    started = time.monotonic()
    with pytest.raises(AllProvidersFailed) as caught:
        Mailer.from_env(env).send(message())  # an ambiguous timeout: stop
    assert time.monotonic() - started < 0.9
    (attempt,) = caught.value.attempts
    assert isinstance(attempt.error, TransportError)
    server.faults.queue(Fault.SLOW)
    own = {**env, "MAILSPEC_PROVIDERS": server.url + "&timeout=5"}
    assert Mailer.from_env(own).send(message()).provider == "cloudmails"
