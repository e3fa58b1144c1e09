"""A bad MAILSPEC setting is an ImproperlyConfigured naming the setting, never repeating
a credential, with or without fail_silently."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django_support import mailspec_setting

from mailspec.django.settings import build_mailer


def refusal(setting: object) -> str:
    with override_settings(MAILSPEC=setting), pytest.raises(ImproperlyConfigured) as bad:
        mail.send_mail("Hi", "Hello", None, ["ann@example.org"], fail_silently=True)
    return str(bad.value)


def test_no_setting_says_what_to_set() -> None:
    assert "MAILSPEC: set it to a dict with at least 'PROVIDERS'" in refusal(None)


def test_no_providers_names_the_key() -> None:
    assert refusal({"PROVIDERS": []}).startswith("MAILSPEC['PROVIDERS']: ")


def test_a_bad_provider_url_is_named_by_its_place_never_its_credentials() -> None:
    text = refusal({"PROVIDERS": ["cloudmails://SENTINEL-api-key-93@", "nosuch://x"]})
    assert text.startswith("MAILSPEC['PROVIDERS']: URL 2 of 2")
    assert "SENTINEL" not in text


def test_an_unknown_key_is_named() -> None:
    assert "unknown key(s) DEADLNE" in refusal({"PROVIDERS": "cloudmails://k@", "DEADLNE": 3})


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("DEADLINE", "ten", "MAILSPEC['DEADLINE']: expected a number, got 'ten'"),
        ("ON_AMBIGUOUS", "maybe", "MAILSPEC['ON_AMBIGUOUS']: "),
        ("STRATEGY", "random", "MAILSPEC['STRATEGY']: "),
        ("MAX_ATTEMPTS", 0, "MAILSPEC['MAX_ATTEMPTS']: "),
        ("STORE", "nosuch://SENTINEL-pass@host", "MAILSPEC['STORE']: "),
    ],
)
def test_a_bad_option_names_its_key(cloudmails, key, value, expected) -> None:
    text = refusal(mailspec_setting(cloudmails, **{key: value}))
    assert text.startswith(expected)
    assert "SENTINEL" not in text and "sandbox-" not in text


def test_the_options_reach_the_mailer(cloudmails) -> None:
    setting = mailspec_setting(cloudmails, ON_AMBIGUOUS="failover", DEADLINE=7, STORE="memory://")
    mailer = build_mailer(setting)
    assert (mailer.on_ambiguous, mailer.deadline, mailer.max_attempts) == ("failover", 7.0, 1)
    assert mailer.providers == ["cloudmails"]
