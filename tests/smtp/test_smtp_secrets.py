"""The SMTP password never shows: not in a repr, an error, a log record (any logger, at
DEBUG) or on the console, whatever happens to the session."""

from __future__ import annotations

import base64
import logging

import pytest
from smtp_support import USER, message, refused_port

from mailspec import Mailer, MailspecError

SENTINEL = "Sentinel-SMTP-pw-5c1e9a"
WIRE_FORMS = [
    base64.b64encode(SENTINEL.encode()).decode(),  # AUTH LOGIN
    base64.b64encode(f"\0{USER}\0{SENTINEL}".encode()).decode(),  # AUTH PLAIN
]


@pytest.fixture
def every_logger_at_debug(caplog):
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_the_password_never_shows(plain_server, make_provider, every_logger_at_debug, capsys):
    recorder = plain_server.recorder
    recorder.password = SENTINEL
    provider = make_provider(plain_server, api_key=SENTINEL)
    shown = [repr(provider), str(provider.server), repr(vars(provider)), repr(provider.rest)]
    errors: list[MailspecError] = []

    def failing(send):
        with pytest.raises(MailspecError) as caught:
            send()
        errors.append(caught.value)

    assert provider.send(message()).message_ids  # a good session, logged at DEBUG
    # a server that echoes the credentials back, as sent and as AUTH encoded them
    recorder.behaviour.data_reply = f"554 5.7.1 refused for {USER}:{SENTINEL} ({WIRE_FORMS[1]})"
    failing(lambda: provider.send(message()))
    recorder.behaviour.data_reply = None
    recorder.behaviour.rcpt_replies = {"ann@example.org": f"550 {WIRE_FORMS[0]} unknown"}
    failing(lambda: provider.send(message()))
    # the password refused: the server's 535, through a Mailer too
    recorder.password = "something-else"
    failing(lambda: provider.send(message()))
    failing(lambda: Mailer([provider], max_attempts=1).send(message()))
    failing(
        lambda: make_provider(plain_server, api_key=SENTINEL, smtp_port=refused_port()).send(
            message()
        )
    )
    failing(lambda: make_provider(plain_server, api_key=SENTINEL, starttls=True).send(message()))

    assert len(errors) == 6
    assert "***" in str(errors[0]) and "***" in str(errors[1])
    shown += [str(e) for e in errors] + [repr(e) for e in errors]
    shown += [repr(getattr(e, "attempts", [])) for e in errors]
    # every logger but the test server's own ("mail.log"), which logs the replies this
    # test makes it send, echoed credentials included: that is the far end, not us
    records = [r for r in every_logger_at_debug.records if r.name != "mail.log"]
    assert any(r.name.startswith("mailspec") for r in records)  # there was something to read
    assert any(r.name == "mail.log" for r in every_logger_at_debug.records)  # DEBUG reached it
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    shown += [formatter.format(r) for r in records]
    console = capsys.readouterr()
    shown += [console.out, console.err]
    for text in shown:
        assert SENTINEL not in text
    ours = [r.getMessage() for r in records if r.name.startswith("mailspec")]
    for text in ours + [str(e) for e in errors]:
        assert not any(form in text for form in WIRE_FORMS)
