"""Mailer.from_env(): the providers and the store the command line reads, and a clear
error naming the variable, never its value (it holds credentials)."""

from __future__ import annotations

import pytest

from mailspec import Mailer, ValidationError
from mailspec.stores.sqlite import SqliteStore

SECRET = "sekrit-from-env-7c1"


def test_providers_in_order_and_the_store(tmp_path) -> None:
    env = {
        "MAILSPEC_PROVIDERS": f"sendcloud://u:{SECRET}@, cloudmails://{SECRET}@",
        "MAILSPEC_STORE": f"sqlite:///{tmp_path / 'state.db'}",
    }
    mailer = Mailer.from_env(env, deadline=5)
    assert mailer.providers == ["sendcloud", "cloudmails"]
    assert isinstance(mailer.store, SqliteStore)
    assert mailer.deadline == 5
    assert SECRET not in repr(mailer)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "MAILSPEC_PROVIDERS"),
        ({"MAILSPEC_PROVIDERS": "  "}, "MAILSPEC_PROVIDERS"),
        ({"MAILSPEC_PROVIDERS": f"nosuch://{SECRET}@"}, "MAILSPEC_PROVIDERS"),
        ({"MAILSPEC_PROVIDERS": f"cloudmails://{SECRET}@", "MAILSPEC_STORE": "mongo://x"}, "MAILSPEC_STORE"),
    ],
)  # fmt: skip
def test_a_bad_value_names_the_variable_and_not_the_value(env, variable) -> None:
    with pytest.raises(ValidationError) as caught:
        Mailer.from_env(env)
    assert caught.value.field == variable
    assert SECRET not in str(caught.value)
