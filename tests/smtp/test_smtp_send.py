"""Sending over a real SMTP session: plain loopback and STARTTLS logins, certificates,
and what every kind of failure becomes."""

from __future__ import annotations

import time

import pytest
from smtp_support import PASSWORD, USER, message, refused_port

from mailspec import (
    AuthenticationError,
    MalformedResponseError,
    PartialDeliveryError,
    ProviderServerError,
    ProviderValidationError,
    TransportError,
    ValidationError,
)


def test_plain_loopback_session_logs_in_and_sends(plain_server, make_provider):
    result = make_provider(plain_server).send(message(to=["ann@example.org"]))
    recorder = plain_server.recorder
    assert recorder.logins == [(USER.encode(), PASSWORD.encode())]
    [received] = recorder.accepted
    assert received.mail_from == "noreply@example.com"
    assert received.rcpt_tos == ["ann@example.org"]
    assert not received.tls
    assert result.provider == "aurorasendcloud"
    assert result.refused == {}
    assert [a.outcome for a in result.attempts] == ["accepted"]
    # the EHLO name is this end's address, not a name looked up in DNS
    assert recorder.ehlo_names == ["[127.0.0.1]"]


def test_message_id_is_the_header_we_wrote(plain_server, make_provider):
    result = make_provider(plain_server).send(message())
    [message_id] = result.message_ids
    assert "<" not in message_id and message_id.endswith("@example.com")
    content = plain_server.recorder.accepted[0].content
    assert f"Message-ID: <{message_id}>".encode() in content


def test_a_message_id_given_in_headers_is_used(plain_server, make_provider):
    result = make_provider(plain_server).send(
        message(headers={"Message-ID": "<order-1042@shop.example.com>"})
    )
    assert result.message_ids == ["order-1042@shop.example.com"]
    content = plain_server.recorder.accepted[0].content
    assert content.count(b"Message-ID:") == 1


def test_starttls_then_auth(tls_server, make_provider, ca_file):
    provider = make_provider(tls_server, starttls=True, ca_certs=ca_file)
    provider.send(message())
    recorder = tls_server.recorder
    [received] = recorder.accepted
    assert received.tls
    assert recorder.logins == [(USER.encode(), PASSWORD.encode())]
    assert len(recorder.ehlo_names) == 2  # once in plain text, once again inside TLS


def test_an_untrusted_certificate_is_refused_before_login(tls_server, make_provider, other_ca_file):
    provider = make_provider(tls_server, starttls=True, ca_certs=other_ca_file)
    with pytest.raises(TransportError) as caught:
        provider.send(message())
    assert not caught.value.ambiguous
    assert "TLS" in str(caught.value)
    assert tls_server.recorder.auth_commands == []
    assert tls_server.recorder.content_seen == []


def test_the_system_store_does_not_trust_a_private_ca(tls_server, make_provider):
    with pytest.raises(TransportError) as caught:
        make_provider(tls_server, starttls=True).send(message())
    assert not caught.value.ambiguous
    assert tls_server.recorder.auth_commands == []


def test_starttls_not_offered_means_no_login_and_no_fallback(plain_server, make_provider):
    provider = make_provider(plain_server, starttls=True)
    with pytest.raises(TransportError) as caught:
        provider.send(message())
    error = caught.value
    assert not error.ambiguous and not error.retryable
    assert "STARTTLS" in str(error)
    assert plain_server.recorder.auth_commands == []  # the credentials never left
    assert plain_server.recorder.content_seen == []


def test_bad_credentials(plain_server, make_provider):
    provider = make_provider(plain_server, api_key="wrong-key-123")
    with pytest.raises(AuthenticationError) as caught:
        provider.send(message())
    assert caught.value.code == 535
    assert not caught.value.retryable
    assert plain_server.recorder.content_seen == []


def test_no_auth_offered_is_an_authentication_error(start_server, make_provider):
    # aiosmtpd offers AUTH only inside TLS unless told otherwise
    server = start_server()
    with pytest.raises(AuthenticationError) as caught:
        make_provider(server).send(message())
    assert "AUTH" in str(caught.value)
    assert server.recorder.content_seen == []


def test_refused_connection_is_retryable_and_not_ambiguous(make_provider, plain_server):
    provider = make_provider(plain_server, smtp_port=refused_port())
    with pytest.raises(TransportError) as caught:
        provider.send(message())
    assert not caught.value.ambiguous and caught.value.retryable
    assert "could not connect" in str(caught.value)


def test_4xx_to_the_content_is_retryable(plain_server, make_provider):
    plain_server.recorder.behaviour.data_reply = "451 4.3.0 Please try again later"
    with pytest.raises(ProviderServerError) as caught:
        make_provider(plain_server).send(message())
    error = caught.value
    assert error.retryable and not error.ambiguous
    assert error.code == 451
    assert "try again later" in error.message


def test_5xx_to_the_content_is_permanent(plain_server, make_provider):
    plain_server.recorder.behaviour.data_reply = "554 5.7.1 Message rejected as spam"
    with pytest.raises(ProviderValidationError) as caught:
        make_provider(plain_server).send(message())
    error = caught.value
    assert not error.retryable and not error.ambiguous
    assert error.code == 554
    assert "rejected as spam" in error.message


def test_some_recipients_refused_is_still_sent(plain_server, make_provider):
    plain_server.recorder.behaviour.rcpt_replies = {
        "bob@example.org": "550 5.1.1 No such user",
        "cy@example.org": "450 4.2.1 Mailbox busy",
    }
    result = make_provider(plain_server).send(
        message(to=["ann@example.org", "bob@example.org"], cc=["cy@example.org"])
    )
    assert result.refused == {
        "bob@example.org": "550 5.1.1 No such user",
        "cy@example.org": "450 4.2.1 Mailbox busy",
    }
    [received] = plain_server.recorder.accepted
    assert received.rcpt_tos == ["ann@example.org"]


def test_every_recipient_refused_permanently(plain_server, make_provider):
    plain_server.recorder.behaviour.rcpt_replies = {
        "ann@example.org": "550 5.1.1 No such user",
        "bob@example.org": "553 5.1.3 Bad address",
    }
    with pytest.raises(ProviderValidationError) as caught:
        make_provider(plain_server).send(message(to=["ann@example.org", "bob@example.org"]))
    assert caught.value.code == 550
    assert "bob@example.org: 553" in caught.value.message
    assert plain_server.recorder.content_seen == []  # no DATA


def test_every_recipient_refused_with_a_temporary_reply_is_retryable(plain_server, make_provider):
    plain_server.recorder.behaviour.rcpt_replies = {"ann@example.org": "450 4.2.1 Try later"}
    with pytest.raises(ProviderServerError) as caught:
        make_provider(plain_server).send(message())
    assert caught.value.retryable and caught.value.code == 450


def test_silence_after_the_content_is_ambiguous_within_the_timeout(plain_server, make_provider):
    plain_server.recorder.behaviour.pause_after_data = 5.0
    provider = make_provider(plain_server, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        provider.send(message())
    assert time.monotonic() - started < 3.0
    assert caught.value.ambiguous and not caught.value.retryable
    assert len(plain_server.recorder.content_seen) == 1  # the server has the message


def test_a_dropped_connection_before_the_content_is_not_ambiguous(plain_server, make_provider):
    plain_server.recorder.behaviour.drop_at_rcpt = True
    with pytest.raises(TransportError) as caught:
        make_provider(plain_server).send(message())
    assert not caught.value.ambiguous and caught.value.retryable
    assert plain_server.recorder.content_seen == []


def test_an_unreadable_final_reply_is_ambiguous(plain_server, make_provider):
    plain_server.recorder.behaviour.data_reply = "OK!! queued"
    with pytest.raises(MalformedResponseError) as caught:
        make_provider(plain_server).send(message())
    assert caught.value.ambiguous


def test_send_many_uses_one_session(plain_server, make_provider):
    provider = make_provider(plain_server)
    results = provider.send_many([message(subject=f"n{i}") for i in range(3)])
    assert len({r.message_ids[0] for r in results}) == 3
    recorder = plain_server.recorder
    assert len(recorder.accepted) == 3
    assert len(recorder.ehlo_names) == 1 and len(recorder.logins) == 1


def test_send_many_stops_at_the_first_refused_message(plain_server, make_provider):
    recorder = plain_server.recorder
    recorder.behaviour.rcpt_replies = {"gone@example.org": "550 5.1.1 No such user"}
    provider = make_provider(plain_server)
    first = message()
    with pytest.raises(PartialDeliveryError) as info:
        provider.send_many([first, message(to=["gone@example.org"]), message()])
    assert isinstance(info.value.cause, ProviderValidationError)
    assert info.value.sent_to == first.to and info.value.ambiguous
    assert len(info.value.message_ids) == 1  # the first message's Message-ID
    assert len(recorder.accepted) == 1  # the first; the third was not sent after the failure


def test_a_line_starting_with_a_dot_survives(plain_server, make_provider):
    text = "line one\n.\n.hidden\nend"
    make_provider(plain_server).send(message(text=text))
    content = plain_server.recorder.accepted[0].content
    assert b"\r\n.\r\n.hidden\r\n" in content  # the server removed our dot-stuffing


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"to": ["ann\x00x@example.org"]}, "to"),  # would reach RCPT TO and To:
        ({"bcc": ["b\x1b@example.org"]}, "bcc"),
        ({"subject": "Hello\x08\x08\x08"}, "subject"),
        ({"from_name": "Shop\x1b[2J"}, "from_name"),
        ({"headers": {"X-Tag": "a\x7fb"}}, "headers"),
        ({"subject": "\ud800"}, "subject"),
        ({"text": "a\x00b"}, "text"),
    ],
)
def test_control_characters_never_reach_the_smtp_session(
    plain_server, make_provider, overrides, field
):
    with pytest.raises(ValidationError) as info:
        make_provider(plain_server).send(message(**overrides))
    assert info.value.field.startswith(field)
    assert plain_server.recorder.logins == [] and plain_server.recorder.accepted == []


def test_smtp_refuses_the_same_reserved_headers_as_every_transport():
    from mailspec.checks.message import RESERVED_HEADERS
    from mailspec.runtime import mime

    assert mime.RESERVED_HEADERS is RESERVED_HEADERS  # one list, in one place
    for name in RESERVED_HEADERS:
        with pytest.raises(ValidationError):
            mime.check_mime(message(headers={name.title(): "x"}))
