"""The intermediate representation of a provider spec.

A spec file is YAML decoded straight into these Structs, so this module *is* the spec
format: every field here is a key a spec may use, and nothing else is accepted
(``forbid_unknown_fields``). ``spec/schema.json`` is exported from it for editors.

The same Structs are the runtime's tables: each generated ``spec.py`` is the resolved
spec written out as these objects, so the client, the adapters and the sandbox all read
one model. That is why this module lives in the root package and imports nothing from
``codegen``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from .vocabulary import BounceReason, DeliveryState, ErrorCategory, EventType

__all__ = [
    "ANY_OF",
    "MESSAGE_FIELDS",
    "RESERVED_OPERATION_NAMES",
    "AddressKeys",
    "AnswerEnvelope",
    "AnswerField",
    "Auth",
    "BasicAuth",
    "Capabilities",
    "Code",
    "CredentialSet",
    "Delivery",
    "DeliveryFields",
    "ErrorName",
    "Example",
    "FileKeys",
    "Hooks",
    "Limits",
    "MaxSpan",
    "OneOf",
    "Operation",
    "Paging",
    "PairKeys",
    "Param",
    "ProviderInfo",
    "RecipientKeys",
    "Region",
    "Rule",
    "Sandbox",
    "SandboxRecipient",
    "Shape",
    "ShapeField",
    "SigV4",
    "Signing",
    "Smtp",
    "SmtpLogin",
    "Spec",
    "StateRow",
    "StatusQuery",
    "SubStateRow",
    "WebhookEvent",
    "WebhookEventFields",
    "WebhookFields",
    "WebhookRefine",
    "WebhookSignature",
    "Webhooks",
    "auth_keywords",
    "code_field",
    "fill_template",
    "placeholders",
    "split_target",
]

ANY_OF = "any_of"

Name = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]*$", description="A lower_snake_case name.")]
CodeName = Annotated[
    str,
    Meta(
        pattern=r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$",
        description="An UPPER_SNAKE_CASE enum member name.",
    ),
]
ShapeName = Annotated[
    str, Meta(pattern=r"^[A-Z][A-Za-z0-9]*$", description="A CamelCase shape name.")
]
# A `mapping` row's target: a parameter, or `parameter.Entry`, one entry of an object
# parameter, for a field with no parameter of its own (tags as a custom header).
Target = Annotated[
    str,
    Meta(
        pattern=r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)?$",
        description="A parameter name, or `parameter.Entry`: an entry of an object parameter.",
    ),
]
Url = Annotated[str, Meta(pattern=r"^https?://", description="An absolute http(s) URL.")]
# A region's name: lower case, digits, `_` and `-` (AWS writes `us-east-1`); it fills the
# `{region}` placeholder of base URLs and paths.
RegionName = Annotated[
    str,
    Meta(pattern=r"^[a-z][a-z0-9_-]*$", description="A region name (`eu`, `us-east-1`)."),
]
# A text with `{name}` placeholders, each a credential or setting keyword (or `region`),
# and no other braces: `Bearer {api_key}`, `api`, `{domain}`.
Template = Annotated[
    str,
    Meta(
        pattern=r"^([^{}]|\{[a-z][a-z0-9_]*\})*$",
        description="Text with `{keyword}` placeholders filled from credentials or settings.",
    ),
]
Port = Annotated[int, Meta(ge=1, le=65535)]
Positive = Annotated[int, Meta(ge=1)]
NonNegative = Annotated[int, Meta(ge=0)]

# The scalar and container types a request parameter can have. `json` is an object
# sent as a JSON string inside a form; `list[object]` is a list of objects (a JSON
# array); `files` are attachments.
ParamType = Literal[
    "str", "int", "bool", "date", "list[str]", "json", "object", "list[object]", "files"
]
# `mailbox` is an address or `Name <address>` (a sender name in a provider whose `from`
# is one string)
ParamFormat = Literal["email", "mailbox", "phone"]
Constraint = Literal[
    "required", "format", "max_length", "max_items", "enum", "range", "max_total_bytes"
]


# The unified Message's fields, the keys a spec's `mapping` may name (the spec model
# keeps its own list so the generator does not import the runtime's types; a test holds
# it equal to mailspec.Message's fields).
MESSAGE_FIELDS = (
    "from_email",
    "to",
    "from_name",
    "cc",
    "bcc",
    "reply_to",
    "display_names",
    "subject",
    "html",
    "text",
    "attachments",
    "headers",
    "tags",
    "metadata",
    "template",
    "variables",
    "recipient_variables",
    "idempotency_key",
    "send_at",
    "track_opens",
    "track_clicks",
    "provider_options",  # merged into the request by the adapters, never a mapping row
)

# Attributes every generated client has (mailspec.runtime.BaseClient): an operation,
# which becomes a client method, may not take one of these names.
RESERVED_OPERATION_NAMES = frozenset(
    {
        "name",
        "region",
        "base_url",
        "spec",
        "envelope_decoder",
        "request_types",
        "decoders",
        "close",
        "call",
        "prepare",
        "execute",
        "exchange",
        "encode",
        "values_of",
        "ensure_pool_size",
        "request_hook",
        "answer_hook",
    }
)


class _Base(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    pass


def _d(description: str) -> Meta:
    """A field's description, exported into ``spec/schema.json``."""
    return Meta(description=description)


class ProviderInfo(_Base, kw_only=True, frozen=True):
    """Who the provider is."""

    name: Annotated[Name, _d("The provider's name, as `mailspec.provider()` takes it.")]
    title: Annotated[str, _d("The provider's display name.")]
    docs: Annotated[list[str], _d("The provider documents this spec is built from.")] = []
    description: Annotated[str, _d("What the provider offers, in a sentence or two.")] = ""


class Smtp(_Base, kw_only=True, frozen=True):
    """A region's SMTP servers."""

    host: Annotated[str, _d("The SMTP server's host name.")]
    ports: Annotated[list[Port], _d("The ports the server listens on.")]
    starttls_ports: Annotated[
        list[Port],
        _d(
            "The ports where STARTTLS is on by default, the first being the default port; "
            "on the others it must be asked for."
        ),
    ] = []


class Region(_Base, kw_only=True, frozen=True):
    """One region of the provider: its REST base URL and SMTP servers."""

    title: Annotated[str, _d("The region's display name.")]
    base_url: Annotated[
        Url, _d("The REST base URL, as the documents write it; operation paths are relative to it.")
    ]
    smtp: Annotated[Smtp | None, _d("The region's SMTP servers; none when it has no SMTP.")] = None


class SmtpLogin(_Base, kw_only=True, frozen=True):
    """Which credentials (keywords of ``auth.body``) log in to the SMTP servers."""

    username: Annotated[Name, _d("The credential keyword sent as the SMTP user name.")]
    password: Annotated[Name, _d("The credential keyword sent as the SMTP password.")]


class Signing(_Base, kw_only=True, frozen=True):
    """A request signed instead of carrying its key.

    ``param`` is the hex ``algorithm`` digest of ``KEY&`` + the request's ``k=v`` pairs
    sorted by name and joined by ``&`` + ``&KEY``, where KEY is the ``key`` credential,
    which is then not sent. Only form and query parameters can be signed.
    """

    algorithm: Annotated[Literal["md5", "sha256"], _d("The digest the signature uses.")]
    key: Annotated[Name, _d("The credential keyword that signs and is then not sent.")]
    param: Annotated[str, _d("The wire name of the parameter carrying the hex signature.")]
    timestamp: Annotated[
        str | None,
        _d(
            "The wire name of a parameter carrying the signing time in milliseconds since "
            "the epoch (signed with the rest); none when the request carries no time."
        ),
    ] = None
    tolerance_seconds: Annotated[
        int,
        Meta(
            ge=1,
            description="How far, in seconds, the timestamp may be from the provider's clock "
            "(default 600).",
        ),
    ] = 600
    stale_code: Annotated[
        int | None, _d("The provider's code for a request refused as outside that window.")
    ] = None


class CredentialSet(_Base, kw_only=True, frozen=True):
    """Credentials of their own, for operations whose ``auth:`` names this set."""

    body: Annotated[
        dict[Name, str],
        _d("The credentials, sent as body parameters: keyword (as passed) -> wire name."),
    ]
    signing: Annotated[
        Signing | None,
        _d("How to sign instead of sending the key, when the user asks for signed requests."),
    ] = None
    code: Annotated[
        int | None, _d("The provider's code for an answer refusing these credentials.")
    ] = None


class BasicAuth(_Base, kw_only=True, frozen=True):
    """HTTP basic authentication: ``Authorization: Basic base64(username:password)``,
    each part a template (Mailgun's ``api`` / ``{api_key}``, Mailjet's ``{api_key}`` /
    ``{secret_key}``)."""

    username: Annotated[Template, _d("The user name: a constant, or `{credential}`.")]
    password: Annotated[Template, _d("The password: a constant, or `{credential}`.")]


class SigV4(_Base, kw_only=True, frozen=True):
    """AWS Signature Version 4 over the whole request (Amazon SES): the region is the
    client's, the keys are credentials, the signed headers are added last."""

    service: Annotated[str, _d("The AWS service name signed for (`ses`).")]
    access_key_id: Annotated[Name, _d("The credential keyword of the access key id.")]
    secret_access_key: Annotated[Name, _d("The credential keyword of the secret access key.")]
    session_token: Annotated[
        Name | None,
        _d("The credential keyword of an optional session token (temporary credentials)."),
    ] = None


class Auth(_Base, kw_only=True, frozen=True):
    """Where credentials travel, by exactly one scheme: body or query parameters, a
    bearer token, named headers, HTTP basic, or AWS Signature Version 4.

    ``settings`` are keywords a user passes with the credentials that are no secret and
    only fill ``{placeholders}`` (Mailgun's ``{domain}``). ``sets`` are further
    credentials some operations use instead (an SMS API's own keys); they are optional
    when the provider is built and required by those operations.
    """

    body: Annotated[
        dict[Name, str],
        _d(
            "Credentials sent as body parameters (query parameters for a `query` "
            "operation): the keyword a user passes to `mailspec.provider()` -> its wire name."
        ),
    ] = {}
    query: Annotated[
        dict[Name, str],
        _d("Credentials sent in the query string of every request: keyword -> wire name."),
    ] = {}
    bearer: (
        Annotated[Name, _d("The credential keyword sent as an `Authorization: Bearer` token.")]
        | None
    ) = None
    headers: Annotated[
        dict[str, Template],
        _d(
            "Request headers carrying credentials: header name -> template "
            '(`X-Postmark-Server-Token: "{server_token}"`, `Authorization: "{api_key}"`).'
        ),
    ] = {}
    basic: Annotated[
        BasicAuth | None, _d("HTTP basic authentication from templates of credentials.")
    ] = None
    aws_sigv4: Annotated[SigV4 | None, _d("AWS Signature Version 4 signing.")] = None
    settings: Annotated[
        list[Name],
        _d(
            "Keywords passed with the credentials that are no secret and fill "
            "`{placeholders}` in base URLs and paths (`domain`)."
        ),
    ] = []
    code: Annotated[
        int | None, _d("The provider's code for an answer refusing the credentials.")
    ] = None
    sets: Annotated[
        dict[Name, CredentialSet],
        _d("Further credential sets by name, for operations whose `auth:` names one."),
    ] = {}
    smtp: Annotated[
        SmtpLogin | None, _d("Which credentials log in to the SMTP servers; none without SMTP.")
    ] = None

    def schemes(self) -> list[str]:
        """The schemes this auth declares (a valid spec declares exactly one)."""
        given = {
            "body": bool(self.body),
            "query": bool(self.query),
            "bearer": self.bearer is not None,
            "headers": bool(self.headers),
            "basic": self.basic is not None,
            "aws_sigv4": self.aws_sigv4 is not None,
        }
        return [name for name, present in given.items() if present]


class AnswerField(_Base, kw_only=True, frozen=True):
    """Where one part of the answer envelope is in the JSON body."""

    wire: Annotated[str, _d("The key as the provider documents it.")]
    aliases: Annotated[
        list[str], _d("Other spellings of the key the provider is documented to send.")
    ] = []


class ErrorName(_Base, kw_only=True, frozen=True):
    """Where an error answer names its kind: a response header (SES's
    ``x-amzn-ErrorType``, read up to its first ``:``) or a key of the JSON body
    (Resend's ``name``). Exactly one."""

    header: Annotated[str | None, _d("The response header holding the error's name.")] = None
    wire: Annotated[str | None, _d("The body key holding the error's name.")] = None


class AnswerEnvelope(_Base, kw_only=True, frozen=True):
    """How every answer says how it went."""

    code_from: Annotated[
        Literal["body", "http"],
        _d("Where the status code is: the JSON body (`code`) or the HTTP status (`http`)."),
    ] = "body"
    code: Annotated[
        AnswerField | None, _d("The body key holding the status code (with `code_from: body`).")
    ] = None
    message: Annotated[
        AnswerField | None, _d("The body key holding the provider's message text.")
    ] = None
    ok: Annotated[
        AnswerField | None,
        _d("A boolean success flag beside the code (SendCloud's `result`)."),
    ] = None
    error_name: Annotated[
        ErrorName | None,
        _d("Where an error answer names its kind, which `errors` maps to a category."),
    ] = None
    errors: Annotated[
        dict[str, ErrorCategory],
        _d(
            "Error name -> the category it raises, over the HTTP status's: one status "
            "(400) can be a validation, a quota or a permission error by its name."
        ),
    ] = {}


class Limits(_Base, kw_only=True, frozen=True):
    """The provider's documented limits.

    A status window is a ``max_span`` rule of the status operation, and an attachment
    size is the ``max_total_bytes`` of its ``files`` parameter.
    """

    rate_per_minute: Annotated[
        Positive | None,
        _d("Requests per minute; the Mailer's client-side token bucket keeps to it."),
    ] = None
    recipients_per_request: Annotated[
        Positive | None, _d("The most recipients one send request may carry.")
    ] = None
    reply_to_max: Annotated[
        Positive | None, _d("The most reply-to addresses a message may have.")
    ] = None
    batch_size: Annotated[
        Positive | None,
        _d("The most messages one batch request may carry (default 1000 where batches exist)."),
    ] = None
    page_size: Annotated[
        Positive | None, _d("Records per page of a status answer (default 100).")
    ] = None
    daily_quota: Annotated[
        Positive | None, _d("Requests per day; informational, nothing enforces it.")
    ] = None
    retry_after_header: Annotated[
        str | None,
        _d(
            "The response header saying how many seconds to wait after a refusal, read "
            "where the answer has no Retry-After (Brevo's `x-sib-ratelimit-reset`)."
        ),
    ] = None


class Capabilities(_Base, kw_only=True, frozen=True):
    """What the send operations can carry.

    Template sending is known from the operations (``send_template``, or
    ``template_only``), tags and metadata from the ``mapping`` rows of the send
    operation.
    """

    attachments: Annotated[bool, _d("Messages may carry attachments (default false).")] = False
    inline_attachments: Annotated[
        bool, _d("Attachments with a content_id keep it, as inline parts (default false).")
    ] = False
    cc_bcc: Annotated[bool, _d("Messages may have cc and bcc recipients (default false).")] = False
    template_only: Annotated[
        bool, _d("Every send names a template; plain content cannot be sent (default false).")
    ] = False
    recipient_variables: Annotated[
        bool, _d("Messages may carry variables per recipient (default false).")
    ] = False
    variable_syntax: Annotated[
        str,
        _d(
            "How a placeholder is written, `{name}` standing for the variable's name "
            '(e.g. "%{name}%" for %name%); empty for the runtime\'s default.'
        ),
    ] = ""
    idempotency_window: Annotated[
        Positive | None,
        _d(
            "Seconds within which the provider processes a repeat of one idempotency key "
            "once (the `mapping` row `idempotency_key` says where the key goes); none when "
            "it does not deduplicate."
        ),
    ] = None


class PairKeys(_Base, kw_only=True, frozen=True):
    """An object written as a list of ``{key: ..., value: ...}`` objects."""

    key: Annotated[str, _d("The key holding an entry's name (`Name`).")]
    value: Annotated[str, _d("The key holding an entry's value (`Value`).")]


class FileKeys(_Base, kw_only=True, frozen=True):
    """The keys of an attachment object in a JSON body; its content is base64."""

    filename: Annotated[str, _d("The key of the file name.")] = "filename"
    content: Annotated[str, _d("The key of the base64 content.")] = "content"
    content_type: Annotated[
        str | None,
        _d(
            "The key of the MIME type; null where the provider takes no type and reads it "
            "from the file name (Brevo's `attachment`)."
        ),
    ] = "content_type"
    content_id: Annotated[str, _d("The key of an inline part's content id.")] = "content_id"
    content_id_prefix: Annotated[
        str,
        _d(
            "Text written before an inline part's content id (Postmark's `cid:`); the "
            "sandbox requires it and reads the id after it (default none)."
        ),
    ] = ""
    utf8_text: Annotated[
        bool,
        _d(
            "The provider adds `charset=utf-8` to every `text/*` type itself (Mailjet): "
            "the MIME type is sent without parameters, and a text attachment that is not "
            "UTF-8 is refused rather than mislabelled (default false)."
        ),
    ] = False
    inline: Annotated[
        dict[str, str],
        _d(
            "Keys and constant values an inline part (one with a content id) carries "
            "besides (SendGrid's `disposition: inline`)."
        ),
    ] = {}


class AddressKeys(_Base, kw_only=True, frozen=True):
    """A mailbox written as a JSON object: ``{"email": ..., "name": ...}``, the name
    left out where there is none."""

    email: Annotated[str, _d("The key of the address.")] = "email"
    name: Annotated[str, _d("The key of the display name.")] = "name"


class RecipientKeys(_Base, kw_only=True, frozen=True):
    """The message's recipients as one JSON list of objects, one per address (keys may
    be dotted, `address.email`, for nested objects): `to`, then `cc` and `bcc` where
    their mapping rows name the same parameter (SparkPost's `recipients`). Beyond
    `address` (one field's mailboxes as objects): several fields in one list, the To
    header each recipient is shown, and a header listing the cc mailboxes."""

    email: Annotated[str, _d("The key of each recipient's address (`address.email`).")]
    name: Annotated[
        str | None,
        _d("The key of a recipient's display name, where it has one (without header_to)."),
    ] = None
    header_to: Annotated[
        str | None,
        _d(
            "The key of the To header every recipient is shown: the `to` mailboxes, joined "
            "by `, ` (SparkPost's `address.header_to`); a cc or bcc recipient is then not "
            "shown in To."
        ),
    ] = None
    cc_header: Annotated[
        str | None,
        _d(
            "A header listing the cc mailboxes (joined by `, `), put into the parameter the "
            "`headers` mapping row fills (SparkPost's `CC` in `content.headers`)."
        ),
    ] = None


class Param(_Base, kw_only=True, frozen=True):
    """One request parameter of an operation, keyed by its Python name."""

    wire: Annotated[
        str | None,
        _d(
            "The name on the wire; default the key. In a JSON body, a path of steps "
            "joined by `.` places the value inside nested objects and lists: `key`, "
            "`key[N]` (item N of a list), `key[field=value]` (the list item whose field "
            "is value): `personalizations[0].to`, `content[type=text/plain].value`."
        ),
    ] = None
    type: Annotated[
        ParamType,
        _d(
            "The value's type: `json` is an object sent as a JSON string inside a form, "
            "`list[object]` a JSON array of objects, `files` attachments."
        ),
    ]
    required: Annotated[bool, _d("The operation cannot be called without it (default false).")] = (
        False
    )
    description: Annotated[str, _d("What the parameter means, for the generated docstring.")] = ""
    location: Annotated[
        Literal["body", "query", "path", "header"] | None,
        _d(
            "`path` fills the `{placeholder}` of the same name in the operation's path; "
            "`header` sends a `str` or `int` as the request header named by the wire name "
            "(Resend's `Idempotency-Key`); otherwise the parameter goes where the "
            "operation's encoding puts it."
        ),
    ] = None
    format: Annotated[
        ParamFormat | None, _d("A format each value is checked against: `email` or E.164 `phone`.")
    ] = None
    join: Annotated[
        str | None, _d('The separator a `list[str]` is joined with on the wire (default ",").')
    ] = None
    max_length: Annotated[Positive | None, _d("The most characters a string may have.")] = None
    max_items: Annotated[Positive | None, _d("The most items a list may have.")] = None
    max_total_bytes: Annotated[
        Positive | None, _d("The most bytes all `files` together may have.")
    ] = None
    minimum: Annotated[int | None, _d("The smallest value an `int` may take.")] = None
    maximum: Annotated[int | None, _d("The largest value an `int` may take.")] = None
    enum: Annotated[list[int | str] | None, _d("The only values the parameter may take.")] = None
    values: Annotated[
        dict[str | int | bool, str | int | bool] | None,
        _d(
            "The provider's word for each value of the Message field its mapping row "
            "names (`{true: HtmlAndText}`): a value with no entry is a ValidationError, "
            "and only these words are taken on the wire."
        ),
    ] = None
    codes: Annotated[
        dict[Constraint, int],
        _d("The provider's own code for each broken constraint (`required`, `format`, ...)."),
    ] = {}
    const: Annotated[
        str | int | bool | None,
        _d("A value sent on every request (`MessageStream: outbound`); no other is taken."),
    ] = None
    default: Annotated[
        dict[str, Any] | None,
        _d(
            "An `object` sent when no Message field fills it (Postmark's required "
            "`TemplateModel: {}` for a template without variables); a required parameter "
            "with a default never refuses a message."
        ),
    ] = None
    beside: Annotated[
        Name | None,
        _d(
            "A constant written only where the named parameter has a value (a body "
            "part's `Charset` beside its `Data`); default: on every request."
        ),
    ] = None
    repeat: Annotated[
        bool,
        _d("A `list[str]` in a form or query: one field per item (`o:tag`), not one joined."),
    ] = False
    prefix: Annotated[
        str | None,
        _d(
            "An `object` written as one field per entry, named the prefix and the key "
            "(`h:` makes `h:X-Order`); the wire name is then unused."
        ),
    ] = None
    number_wire: Annotated[
        str | None,
        _d(
            "A `str` in a JSON body whose value is decimal digits goes under this other key "
            "instead, as a number (Postmark's `TemplateId` beside `TemplateAlias`)."
        ),
    ] = None
    pairs: Annotated[
        PairKeys | None,
        _d("An `object` written as a list of `{key, value}` objects (`{Name, Value}`)."),
    ] = None
    keys: Annotated[
        FileKeys | None,
        _d("The attachment objects' keys in a JSON body (default filename, content, ...)."),
    ] = None
    address: Annotated[
        AddressKeys | None,
        _d(
            "A `mailbox` parameter (str or list[str]) in a JSON body written as address "
            "objects with these keys (`{email, name}`) instead of `Name <address>` text."
        ),
    ] = None
    text_entries: Annotated[
        bool,
        _d(
            "An `object` parameter whose entries are text (headers): another field a "
            "mapping row puts into one of its entries is written as text (compact JSON "
            "for a list or an object), and entry names are compared ignoring case."
        ),
    ] = False
    substitution: Annotated[
        Literal["xsmtpapi"] | None,
        _d(
            "The parameter is a per-recipient substitution block built from the message's "
            "recipients and variables: `xsmtpapi` is the SendCloud platform's "
            '`{"to": [...], "sub": {"%name%": [one value per recipient]}}`, placeholders '
            "spelled by `capabilities.variable_syntax`. Mapping rows of `variables`, "
            "`recipient_variables` (and `to`, where the recipients travel in it) name it."
        ),
    ] = None
    inline_to: Annotated[
        Name | None,
        _d(
            "A `files` parameter whose inline parts (those with a content id) go to this "
            "other `files` parameter instead (Mailgun's `inline`)."
        ),
    ] = None
    recipients: Annotated[
        RecipientKeys | None,
        _d(
            "A `list[object]` of a JSON body carrying the recipients as objects "
            "(`{address: {email, header_to}}`); the `to`, `cc` and `bcc` rows name it."
        ),
    ] = None
    date_format: Annotated[
        Literal["iso8601", "rfc2822", "epoch"] | None,
        _d(
            "How a date or time (`Message.send_at`) is written: `iso8601` (the default, "
            "`2030-01-01T09:30:00+00:00`), `rfc2822` (`Tue, 01 Jan 2030 09:30:00 +0000`: "
            "Mailgun's `o:deliverytime`) or `epoch` (whole seconds, an `int` parameter)."
        ),
    ] = None
    filename_from: Annotated[
        Literal["content_id"] | None,
        _d(
            "What names each part of a multipart `files` parameter: `content_id`, the "
            "attachment's content id instead of its file name, where the provider makes "
            "the file name an inline part's `cid:` (Mailgun's `inline`); default the "
            "file name."
        ),
    ] = None


class OneOf(_Base, kw_only=True, frozen=True, tag="one_of", tag_field="rule"):
    """Exactly one group of parameters is given, and that group in full."""

    groups: Annotated[list[list[Name]], _d("The groups of parameter names.")]
    code: Annotated[int | None, _d("The provider's code for a request breaking the rule.")] = None


class AnyOf(_Base, kw_only=True, frozen=True, tag=ANY_OF, tag_field="rule"):
    """At least one of these parameters is given."""

    params: Annotated[list[Name], _d("The parameter names.")]
    code: Annotated[int | None, _d("The provider's code for a request breaking the rule.")] = None


class MaxSpan(_Base, kw_only=True, frozen=True, tag="max_span", tag_field="rule"):
    """Two date parameters at most ``days`` calendar days apart, counting both ends."""

    start: Annotated[Name, _d("The parameter holding the first day.")]
    end: Annotated[Name, _d("The parameter holding the last day.")]
    days: Annotated[Positive, _d("The most calendar days the window may cover, both ends counted.")]
    code: Annotated[int | None, _d("The provider's code for a request breaking the rule.")] = None


Rule = OneOf | AnyOf | MaxSpan


class Paging(_Base, kw_only=True, frozen=True):
    """How a list answer continues, in one of three kinds. Offset paging: ask again from
    ``offset`` (the records read so far), ``limit`` at a time (``limits.page_size``),
    until a page comes back short or ``delivery.total`` records are read. Cursor paging:
    ask again with the answer's ``next`` cursor in the ``cursor`` parameter, until an
    answer has none (``limit``, where given, asks for ``limits.page_size`` at a time).
    Next-URL paging: ask the URL the answer gives at ``next_url`` (whole, or a path
    relative to the base URL), on the provider's own host only, until an answer has
    none or repeats one."""

    offset: Annotated[Name | None, _d("The int parameter of the first record's index.")] = None
    limit: Annotated[Name | None, _d("The int parameter of the page size.")] = None
    cursor: Annotated[
        Name | None, _d("The parameter taking the cursor of the next page (cursor paging).")
    ] = None
    next: Annotated[
        str | None,
        _d("The dotted path, in the answer, of the next page's cursor; none on the last page."),
    ] = None
    next_url: Annotated[
        str | None,
        _d(
            "The dotted path, in the answer, of the next page's URL (whole, or a path "
            "relative to the base URL; next-URL paging); none on the last page."
        ),
    ] = None


class StatusQuery(_Base, kw_only=True, frozen=True):
    """Which parameters of a status operation select what it reports."""

    ids: Annotated[
        Name | None,
        _d(
            "The parameter selecting by message id: a list parameter (ids sent in groups of "
            "its `max_items`, default 100) or a str path parameter (one request per id)."
        ),
    ] = None
    recent: Annotated[
        Name | None,
        _d("The int parameter asking for the last N days, used when no window is given."),
    ] = None
    client_window: Annotated[
        bool,
        _d(
            "The operation takes no time window: `since`/`until` keep the records whose "
            "time (`delivery.fields.timestamp`, else `accepted_at`) is inside them, a date "
            "`since` from its start and a date `until` through its end, in UTC "
            "(default false)."
        ),
    ] = False


class ItemErrors(_Base, kw_only=True, frozen=True):
    """Where each item of a 2xx list answer (``response_list``) says whether its own
    message was refused (Postmark's batch: an ``ErrorCode`` per message, 0 for sent)."""

    code: Annotated[
        str, _d("The dotted path, in each item, of its code (an item without one is accepted).")
    ]
    message: Annotated[str | None, _d("The dotted path, in each item, of its error text.")] = None
    ok: Annotated[
        list[int], _d("The codes meaning the item's message was accepted (default [0]).")
    ] = msgspec.field(default_factory=lambda: [0])


class Batch(_Base, kw_only=True, frozen=True):
    """The operation that sends several copies or messages in one request, each the JSON
    object the sending operation would send, as one item of a list parameter."""

    operation: Annotated[Name, _d("The batch operation.")]
    items: Annotated[Name, _d("Its `list[object]` parameter taking one object per message.")]


class Example(_Base, kw_only=True, frozen=True):
    """A request or an answer the provider's documents show for an operation, cited.

    With ``message`` and ``request``, the unified Message of ``message`` must encode
    into ``request`` (its fields by wire name, credentials left out); with ``answer``,
    the body ``answer`` at HTTP ``status`` must decode to ``outcome`` (and, for a
    success, to the message ids ``ids``). ``mailspec spec check`` and the tests prove
    both.
    """

    source: Annotated[
        str, _d("The document and section it is taken from (title and URL for web pages).")
    ]
    message: Annotated[
        dict[str, Any] | None, _d("The equivalent Message, by field (`to`, `subject`, ...).")
    ] = None
    request: Annotated[
        dict[str, Any] | None,
        _d("The documented request's fields by wire name, credentials left out."),
    ] = None
    partial: Annotated[
        bool,
        _d("The document shows only these fields of the request (default false: all of them)."),
    ] = False
    status: Annotated[int, _d("The documented answer's HTTP status (default 200).")] = 200
    answer: Annotated[Any, _d("The documented answer body, as JSON.")] = None
    headers: Annotated[
        dict[str, str],
        _d(
            "The documented answer's headers (SendGrid's `X-Message-Id`); with no "
            "`answer`, the body is empty."
        ),
    ] = {}
    outcome: Annotated[
        ErrorCategory, _d("What the answer means: `success` or the error category.")
    ] = ErrorCategory.SUCCESS
    ids: Annotated[
        list[str] | None, _d("The message ids a success answer yields, where it names any.")
    ] = None


class Operation(_Base, kw_only=True, frozen=True):
    """One HTTP call, which becomes one method of the generated client."""

    summary: Annotated[str, _d("What the call does, for the generated docstring.")]
    method: Annotated[Literal["GET", "POST", "PUT", "PATCH", "DELETE"], _d("The HTTP method.")]
    path: Annotated[
        str, _d("The path relative to the base URL, with `{placeholders}` for path parameters.")
    ]
    encoding: Annotated[
        Literal["form", "json", "query"],
        _d("How parameters are sent: a form body, a JSON body, or the query string."),
    ]
    response: Annotated[ShapeName, _d("The shape the answer decodes into.")]
    base: (
        Annotated[Name, _d("A base of `extra_bases` to call instead of the region's base URL.")]
        | None
    ) = None
    auth: Annotated[
        Name,
        _d("Which credentials: `default` (the spec's `auth`), `none`, or a set of `auth.sets`."),
    ] = "default"
    multipart_param: (
        Annotated[Name, _d("A `files` parameter that, when given, makes the form multipart.")]
        | None
    ) = None
    ids: Annotated[
        str | None,
        _d(
            "The dotted path, in the response shape, of the message id (or list of ids) a send returns."
        ),
    ] = None
    paging: Annotated[
        Paging | None,
        _d("How a list answer continues, page by page (offset, cursor or next-URL paging)."),
    ] = None
    query: Annotated[
        StatusQuery | None, _d("Which parameters of a status operation select its records.")
    ] = None
    response_list: Annotated[
        bool,
        _d(
            "The answer is a JSON array of `response` objects (a batch answering one per "
            "message); `ids` is then read from every item (default false)."
        ),
    ] = False
    ids_header: Annotated[
        str | None,
        _d("The response header holding the message id, where the body has none (SendGrid)."),
    ] = None
    item_errors: Annotated[
        ItemErrors | None,
        _d(
            "In a list answer, where each item says whether its message was refused: a "
            "refused item's code is read by the `codes` table (its category picks the "
            "error raised) while the other messages went out."
        ),
    ] = None
    count: Annotated[
        str | None,
        _d(
            "The dotted path, in the response shape, of how many recipients were taken "
            "(an int); the sandbox fills it."
        ),
    ] = None
    params: Annotated[dict[Name, Param], _d("The parameters, by Python name.")] = {}
    rules: Annotated[list[Rule], _d("Rules across parameters, checked before any I/O.")] = []
    body: Annotated[
        Name | None,
        _d(
            "A JSON operation whose body is this one parameter's value alone (a top-level "
            "array: a batch), not an object of its parameters."
        ),
    ] = None
    per_recipient: Annotated[
        bool,
        _d(
            "A message goes out as one request per `to` address, each with the message's "
            "`variables` overridden by that recipient's `recipient_variables` (default false)."
        ),
    ] = False
    fill_variables: Annotated[
        bool,
        _d(
            "With `per_recipient`: each copy's `subject`, `html` and `text` have the "
            "recipient's variables substituted client-side, in `capabilities."
            "variable_syntax`, and the copy carries no variables (default false)."
        ),
    ] = False
    batch: Annotated[
        Batch | None,
        _d(
            "Several copies of a message (`per_recipient`) and several messages "
            "(`send_many`) go out through this batch operation, in chunks of its items' "
            "`max_items` (else `limits.batch_size`)."
        ),
    ] = None
    examples: Annotated[
        list[Example], _d("The provider's documented requests and answers, cited.")
    ] = []
    ignores: Annotated[
        list[Name],
        _d(
            "Message fields this operation takes without sending them, where the provider "
            "uses a value of its own (AOTsend's template sender for `from_email`)."
        ),
    ] = []


class ShapeField(_Base, kw_only=True, frozen=True):
    """One field of a response shape, keyed by its Python name."""

    type: Annotated[
        str,
        _d(
            "`str`, `int`, `bool`, `float`, `any`, `list[T]`, `dict[str, T]`, "
            "or the name of another shape."
        ),
    ]
    wire: Annotated[str | None, _d("The key in the JSON answer; default the field's name.")] = None
    aliases: Annotated[list[str], _d("Other keys the provider is documented to send.")] = []
    required: Annotated[
        bool, _d("An answer without the field is malformed (default false: it may be absent).")
    ] = False
    description: Annotated[str, _d("What the field holds, for the generated code.")] = ""


class Shape(_Base, kw_only=True, frozen=True):
    """A response struct: the fields of one JSON object in an answer."""

    description: Annotated[str, _d("What the shape is, for the generated docstring.")] = ""
    fields: Annotated[dict[Name, ShapeField], _d("The fields, by Python name.")]


class Code(_Base, kw_only=True, frozen=True):
    """One documented status code: its meaning and how the runtime treats it.

    ``name`` is the code's member of the generated ``StatusCode`` enum. Without it the
    member is named after the first words of ``message``; give one where those words
    make a poor name (a typo in the document, a cut-off phrase, a message another code
    shares). It must be unique within the spec and differ from every derived name.
    """

    message: Annotated[str, _d("The provider's text for the code.")]
    name: CodeName | None = None  # described in the class docstring: a description
    # here would replace the pattern in the loader's error
    category: Annotated[
        ErrorCategory, _d("The unified category, which picks the error class raised.")
    ]
    retryable: Annotated[
        bool | None,
        _d("Whether a retry may succeed; default the category's (rate_limit and server retry)."),
    ] = None
    partial: Annotated[
        bool,
        _d("A success that covered only some of the request's recipients (default false)."),
    ] = False
    operations: Annotated[
        list[Name],
        _d(
            "The operations that answer this code, where the provider documents it for some "
            "only (AuroraSendCloud's SMS codes); default every operation. The sandbox answers "
            "an operation the first code of a category it may answer."
        ),
    ] = []


class StateRow(_Base, kw_only=True, frozen=True):
    """What one provider status value means as a unified delivery state."""

    state: Annotated[DeliveryState, _d("The unified delivery state.")]
    description: Annotated[str, _d("The provider's meaning of the value.")] = ""


class SubStateRow(_Base, kw_only=True, frozen=True):
    """What one provider sub-status value means as a unified state and reason."""

    state: Annotated[DeliveryState, _d("The unified delivery state; it decides over `states`.")]
    reason: Annotated[BounceReason, _d("The unified bounce or reject reason.")]
    description: Annotated[str, _d("The provider's meaning of the value.")] = ""


def _record_field(role: str) -> Meta:
    return _d(f"The record field holding the {role}.")


# a record field, or a dotted path of fields through nested shapes (`message.headers.id`)
FieldPath = Annotated[
    str,
    Meta(
        pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$",
        description="A lower_snake_case field name, or a dotted path of them.",
    ),
]


class DeliveryFields(_Base, kw_only=True, frozen=True):
    """Which field of a status record holds each part of a unified DeliveryStatus."""

    message_id: Annotated[FieldPath, _record_field("provider's message id")]
    status: Annotated[FieldPath, _record_field("provider's status value (a key of `states`)")]
    recipient: Annotated[FieldPath, _record_field("recipient's address")] | None = None
    sub_status: (
        Annotated[FieldPath, _record_field("sub-status value (a key of `sub_states`)")] | None
    ) = None
    description: (
        Annotated[FieldPath, _record_field("provider's description of the status")] | None
    ) = None
    timestamp: Annotated[FieldPath, _record_field("time of the status")] | None = None
    accepted_at: (
        Annotated[
            FieldPath,
            _d(
                "The record field holding when the message was accepted: the status time "
                "where `timestamp` is empty."
            ),
        ]
        | None
    ) = None
    opens: (
        Annotated[
            FieldPath,
            _d(
                "The record field counting opens: above zero, a sent or delivered message "
                "is reported as opened."
            ),
        ]
        | None
    ) = None
    clicks: (
        Annotated[
            FieldPath,
            _d(
                "The record field counting clicks: above zero, a sent, delivered or opened "
                "message is reported as clicked."
            ),
        ]
        | None
    ) = None


class Delivery(_Base, kw_only=True, frozen=True):
    """How a status answer lists records and how each maps to unified states."""

    record: Annotated[ShapeName, _d("The shape of one status record.")]
    records: Annotated[
        str,
        _d(
            "The dotted path of the records in the status response shape; `.` when the "
            "answer is itself one record."
        ),
    ]
    total: Annotated[str | None, _d("The dotted path of the total record count, for paging.")] = (
        None
    )
    fields: Annotated[DeliveryFields, _d("Which record field holds each part of a status.")]
    timestamp_format: Annotated[
        str,
        _d(
            "The strftime format of the record's timestamp, as the provider writes it; "
            "`epoch` for seconds since 1970 (a number, a fraction allowed)."
        ),
    ] = ""
    states: Annotated[dict[str, StateRow], _d("Provider status value (as text) -> unified state.")]
    sub_states: Annotated[
        dict[str, SubStateRow],
        _d("Provider sub-status value (as text) -> unified state and reason."),
    ] = {}


def _payload_field(role: str) -> Meta:
    return _d(f"The payload path (see the spec format's Webhooks section) of the {role}.")


class WebhookEventFields(_Base, kw_only=True, frozen=True):
    """Where an event's parts are, as payload paths (``event-data.recipient``,
    ``data.to[0]``); each one an event type may place elsewhere (``events.*.fields``)."""

    message_id: Annotated[str | None, _payload_field("provider's message id")] = None
    recipient: Annotated[str | None, _payload_field("recipient's address")] = None
    timestamp: Annotated[str | None, _payload_field("time of the event")] = None
    reason: Annotated[str | None, _payload_field("provider's reason text")] = None
    sub_status: Annotated[
        str | None, _payload_field("sub-status, looked up in `delivery.sub_states` for a reason")
    ] = None
    url: Annotated[str | None, _payload_field("clicked link")] = None
    user_agent: Annotated[str | None, _payload_field("recipient's user agent")] = None
    metadata: Annotated[str | None, _payload_field("metadata sent with the message")] = None


class WebhookFields(WebhookEventFields, kw_only=True, frozen=True):
    """Where every event's parts are, as payload paths; ``event`` holds the provider's
    event name (a key of ``events``)."""

    event: Annotated[str, _payload_field("provider's event name (a key of `events`)")]


SignatureScheme = Literal["hmac", "ecdsa_p256", "basic_auth", "token"]


class WebhookSignature(_Base, kw_only=True, frozen=True):
    """How the provider proves a request is its own.

    ``hmac``: ``signature`` holds the HMAC of the ``signed`` template, keyed by the
    secret. ``ecdsa_p256``: ``signature`` holds the base64 DER ECDSA P-256/SHA-256
    signature of ``signed``, and the secret is the provider's base64 public key.
    ``basic_auth``: the request's basic-auth credentials are the secret.
    ``token``: the ``signature`` source (a header or query parameter) is the secret.
    Sources are ``header:NAME``, ``query:NAME``, ``body`` or a payload path.
    """

    scheme: Annotated[SignatureScheme, _d("The scheme: hmac, ecdsa_p256, basic_auth, token.")]
    signed: Annotated[
        str | None,
        _d(
            "What is signed (hmac, ecdsa_p256): sources in braces and constant text, "
            "concatenated, as `{timestamp}{token}` or `{header:svix-id}.{header:svix-"
            "timestamp}.{body}`."
        ),
    ] = None
    signature: Annotated[
        str | None, _d("The source of the signature (hmac, ecdsa_p256) or of the token (token).")
    ] = None
    algorithm: Annotated[
        Literal["sha256", "sha1", "sha512"], _d("The HMAC's hash (default sha256).")
    ] = "sha256"
    encoding: Annotated[Literal["hex", "base64"], _d("How the HMAC is written (default hex).")] = (
        "hex"
    )
    key: Annotated[
        Literal["text", "base64"],
        _d("The HMAC key: the secret's UTF-8 bytes (text, the default) or its base64 bytes."),
    ] = "text"
    key_prefix: Annotated[
        str, _d("Removed from the secret first when it starts with it (Svix's `whsec_`).")
    ] = ""
    separator: Annotated[
        str | None,
        _d("Splits the signature source into several signatures, any of which may match."),
    ] = None
    prefix: Annotated[
        str,
        _d(
            "Marks the signatures to check (Svix's `v1,`), removed before comparing; others are ignored."
        ),
    ] = ""
    timestamp: Annotated[
        str | None, _d("The source of the signing time, checked against the tolerance.")
    ] = None
    timestamp_format: Annotated[
        Literal["epoch", "iso8601"], _d("How the signing time is written (default epoch).")
    ] = "epoch"
    id: Annotated[
        str | None,
        _d("The source of the request's one-time id (a token, a message id): a replay is refused."),
    ] = None
    tolerance_seconds: Annotated[
        int,
        Meta(
            ge=1,
            description="How far, in seconds, the signing time may be from now (default 300).",
        ),
    ] = 300


class WebhookRefine(_Base, kw_only=True, frozen=True):
    """A second field that says more than the event name (Mailgun's ``failed`` with a
    ``severity`` of ``temporary``, Postmark's ``Bounce`` of ``Type`` ``SoftBounce``)."""

    path: Annotated[str, _d("The payload path of the value that refines the type.")]
    types: Annotated[
        dict[str, EventType],
        _d(
            "Value (text, a number's digits, or a boolean's `true`/`false`) -> unified event "
            "type; any other value (or none) keeps the event's `type`."
        ),
    ]


class WebhookEvent(_Base, kw_only=True, frozen=True):
    """What one provider event name means as a unified event type."""

    type: Annotated[EventType, _d("The unified event type.")]
    description: Annotated[str, _d("The provider's meaning of the event.")] = ""
    refine: Annotated[
        WebhookRefine | None,
        _d("A field whose value gives another unified type to some of these events."),
    ] = None
    fields: Annotated[
        WebhookEventFields | None,
        _d("Where this event's parts are, where they differ from `webhooks.fields`."),
    ] = None


class SandboxRecipient(_Base, kw_only=True, frozen=True):
    """What becomes of a message sent to one of the provider's documented test
    addresses (Resend's ``bounced@resend.dev``, the SES mailbox simulator)."""

    state: Annotated[
        DeliveryState, _d("The state the message reaches: `delivered`, `bounced`, `complained`…")
    ]
    sub_status: Annotated[
        str | None, _d("The provider's sub-status for it, where its status records have one.")
    ] = None
    silent: Annotated[
        bool, _d("Posts no webhook event (a status lookup still reports the state).")
    ] = False


class Sandbox(_Base, kw_only=True, frozen=True):
    """What the provider documents for testing, so mailspec's sandbox behaves alike.

    ``recipients`` are matched without case and without a ``+label`` in the local part
    (Resend and the SES mailbox simulator document labels); ``credentials`` are
    documented test values of a credential (Postmark's ``POSTMARK_API_TEST``), accepted
    beside the configured one, and a message sent with one is accepted and never
    delivered: no webhook, its state stays ``queued``.
    """

    source: Annotated[str, _d("The document and section these come from.")]
    recipients: Annotated[
        dict[str, SandboxRecipient], _d("Documented test address -> what becomes of its messages.")
    ] = {}
    credentials: Annotated[
        dict[Name, list[str]],
        _d("Credential keyword -> its documented test values, which send nothing."),
    ] = {}


class Webhooks(_Base, kw_only=True, frozen=True):
    """The events a provider posts, and how they are verified."""

    encodings: Annotated[
        list[Literal["form", "json"]], _d("The body encodings the provider posts.")
    ]
    records: Annotated[
        str,
        _d(
            "The payload path of the events: a list of events or one event (`.`, the "
            "default: the body itself; `Message` for SNS's JSON-in-a-string envelope)."
        ),
    ] = "."
    batch: Annotated[
        bool,
        _d(
            "The provider posts its events as a list (SendGrid), not one per post; the "
            "sandbox posts lists. A receiver takes either."
        ),
    ] = False
    ping: Annotated[
        str | None,
        _d(
            "The payload path that, holding an empty object or list, marks a record as "
            "the provider's test ping (SparkPost's validation batch `[{\"msys\": {}}]`): "
            "it yields no event, and the request is answered as any verified one."
        ),
    ] = None
    fields: Annotated[WebhookFields, _d("Where each part of an event is (payload paths).")]
    timestamp_format: Annotated[
        Literal["epoch", "iso8601"],
        _d("`epoch` (seconds, or milliseconds when above 10^11) or `iso8601` (the default)."),
    ] = "iso8601"
    signature: Annotated[
        WebhookSignature | None,
        _d(
            "The signing scheme; none when the provider defines none, and a shared secret "
            "in the webhook URL or basic auth stands in for one."
        ),
    ] = None
    events: Annotated[dict[str, WebhookEvent], _d("Provider event name -> unified event type.")]


class Hooks(_Base, kw_only=True, frozen=True):
    """Python for what the spec cannot say: each value names a function in the
    ``HOOKS`` table of the ``hooks`` module of the user's package that holds this
    provider (``mailspec.register()``, an entry point or ``$MAILSPEC_PACKAGES``)."""

    request: Annotated[
        Name | None,
        _d(
            "Called as `hook(operation, request)` with each encoded HttpRequest (after the "
            "credentials, before an AWS signature); returns the request to send."
        ),
    ] = None
    answer: Annotated[
        Name | None,
        _d(
            "Called as `hook(operation, status, headers, body)` with each answer; returns "
            "the body bytes the spec's shapes and codes then read."
        ),
    ] = None


class Spec(_Base, kw_only=True, frozen=True):
    """One provider's HTTP API, as a spec file describes it."""

    provider: Annotated[ProviderInfo, _d("Who the provider is.")]
    default_region: Annotated[RegionName, _d("The region used when none is given.")]
    region_required: Annotated[
        bool,
        _d(
            "A client must name its region (`region=`), since no region is a sensible "
            "default (Amazon SES); `default_region` then serves only a client given "
            "`base_url=` (the sandbox, a test server) and the generator (default false)."
        ),
    ] = False
    regions: Annotated[dict[RegionName, Region], _d("The provider's regions, by name.")]
    extra_bases: Annotated[
        dict[Name, Url], _d("Other base URLs by name, for operations with `base:`.")
    ] = {}
    auth: Annotated[Auth, _d("Where credentials travel.")]
    envelope: Annotated[AnswerEnvelope, _d("How every answer says how it went.")]
    limits: Annotated[Limits, _d("The provider's documented limits.")] = Limits()
    capabilities: Annotated[Capabilities, _d("What the send operations can carry.")] = (
        Capabilities()
    )
    operations: Annotated[dict[Name, Operation], _d("The HTTP calls, by name.")]
    shapes: Annotated[dict[ShapeName, Shape], _d("The response structs, by CamelCase name.")] = {}
    mapping: Annotated[
        dict[Name, dict[Name, Target]],
        _d(
            "Per operation, unified `Message` field -> parameter (or `parameter.Entry`, an "
            "entry of an object parameter, its value as text); a field a message sets "
            "without a row is refused."
        ),
    ] = {}
    delivery: Annotated[
        Delivery | None, _d("How status records map to unified states; none without status.")
    ] = None
    webhooks: Annotated[
        Webhooks | None, _d("The events the provider posts; none when it posts none.")
    ] = None
    codes: Annotated[dict[int, Code], _d("Every documented status code.")]
    hooks: Annotated[
        Hooks | None,
        _d("Python hooks of the user's package for what YAML cannot say; none built in."),
    ] = None
    sandbox: Annotated[
        Sandbox | None,
        _d("The provider's documented test addresses and credentials, for mailspec's sandbox."),
    ] = None


def split_target(target: str) -> tuple[str, str | None]:
    """A ``mapping`` target as ``(parameter, entry)``; the entry is None for a whole
    parameter."""
    param, _, entry = target.partition(".")
    return param, entry or None


def code_field(spec: Spec, shape_name: str) -> str | None:
    """The field of a response shape that holds the envelope's status code (one of its
    wire spellings is the envelope's code field), so a decoded answer says its code;
    None when the code is not in the body (``code_from: http``) or the shape lacks it."""
    envelope = spec.envelope
    if envelope.code_from != "body" or envelope.code is None:
        return None
    for name, field in spec.shapes[shape_name].fields.items():
        if envelope.code.wire in (field.wire or name, *field.aliases):
            return name
    return None


_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def placeholders(template: str) -> list[str]:
    """The ``{keyword}`` names of a template, in order."""
    return _PLACEHOLDER.findall(template)


def fill_template(template: str, values: Mapping[str, str], quote: Callable[[str], str]) -> str:
    """``template`` with each ``{keyword}`` replaced by ``quote(values[keyword])``; a
    keyword without a value stays as written (a path parameter fills it later)."""

    def value(found: re.Match[str]) -> str:
        name = found.group(1)
        return quote(values[name]) if name in values else found.group(0)

    return _PLACEHOLDER.sub(value, template)


def auth_keywords(auth: Auth) -> tuple[list[str], list[str]]:
    """The keywords ``mailspec.provider()`` takes for ``auth``: those it requires, in
    the order a provider URL lists them, and the optional ones (a session token, the
    credentials of ``sets``)."""
    required: list[str] = [*auth.body, *auth.query]
    if auth.bearer:
        required.append(auth.bearer)
    for template in auth.headers.values():
        required += placeholders(template)
    if auth.basic is not None:
        required += [*placeholders(auth.basic.username), *placeholders(auth.basic.password)]
    optional: list[str] = []
    if auth.aws_sigv4 is not None:
        required += [auth.aws_sigv4.access_key_id, auth.aws_sigv4.secret_access_key]
        if auth.aws_sigv4.session_token:
            optional.append(auth.aws_sigv4.session_token)
    required += auth.settings
    optional += [c for creds in auth.sets.values() for c in creds.body]
    return list(dict.fromkeys(required)), sorted(set(optional) - set(required))
