"""The intermediate representation of a provider spec.

A spec file is YAML decoded straight into these Structs, so this module *is* the spec
format: every field here is a key a spec may use, and nothing else is accepted
(``forbid_unknown_fields``). ``spec/schema.json`` is exported from it for editors.

The same Structs are the runtime's tables: each generated ``meta.py`` is the resolved
spec written out as these objects, so the client, the adapters and the sandbox all read
one model. That is why this module lives in the root package and imports nothing from
``codegen``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .vocabulary import BounceReason, DeliveryState, ErrorCategory, EventType

__all__ = [
    "ANY_OF",
    "MESSAGE_FIELDS",
    "RESERVED_OPERATION_NAMES",
    "AnswerEnvelope",
    "AnswerField",
    "Auth",
    "Capabilities",
    "Code",
    "CredentialSet",
    "Delivery",
    "DeliveryFields",
    "Limits",
    "MaxSpan",
    "OneOf",
    "Operation",
    "Param",
    "ProviderInfo",
    "Region",
    "Rule",
    "Shape",
    "ShapeField",
    "Signing",
    "Smtp",
    "SmtpLogin",
    "Spec",
    "StateRow",
    "SubStateRow",
    "WebhookEvent",
    "WebhookFields",
    "WebhookSignature",
    "Webhooks",
    "code_field",
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
Url = Annotated[str, Meta(pattern=r"^https?://", description="An absolute http(s) URL.")]
Port = Annotated[int, Meta(ge=1, le=65535)]
Positive = Annotated[int, Meta(ge=1)]
NonNegative = Annotated[int, Meta(ge=0)]

# The scalar and container types a request parameter can have. `json` is an object
# sent as a JSON string inside a form; `list[object]` is a list of objects (a JSON
# array); `files` are attachments.
ParamType = Literal[
    "str", "int", "bool", "date", "list[str]", "json", "object", "list[object]", "files"
]
ParamFormat = Literal["email", "phone"]
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
        "encode",
        "values_of",
    }
)


class _Base(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    pass


class ProviderInfo(_Base, kw_only=True, frozen=True):
    name: Name
    title: str
    style: Literal["sendcloud", "cloudmails", "aotsend"]
    docs: list[str] = []
    description: str = ""


class Smtp(_Base, kw_only=True, frozen=True):
    host: str
    ports: list[Port]
    starttls_ports: list[Port] = []


class Region(_Base, kw_only=True, frozen=True):
    title: str
    base_url: Url
    smtp: Smtp | None = None


class SmtpLogin(_Base, kw_only=True, frozen=True):
    """Which credentials (keywords of ``auth.body``) log in to the SMTP servers."""

    username: Name
    password: Name


class Signing(_Base, kw_only=True, frozen=True):
    """A request signed instead of carrying its key.

    ``param`` is the hex ``algorithm`` digest of ``KEY&`` + the request's ``k=v`` pairs
    sorted by name and joined by ``&`` + ``&KEY``, where KEY is the ``key`` credential,
    which is then not sent. ``timestamp`` names a parameter that carries the signing time
    in milliseconds, so the provider can refuse a stale request (one more than
    ``tolerance_seconds`` away from its clock, answered with ``stale_code``). Only form
    and query parameters can be signed.
    """

    algorithm: Literal["md5", "sha256"]
    key: Name
    param: str
    timestamp: str | None = None
    # how far the timestamp may be from the provider's clock, and the code of an
    # answer refusing a request outside that window
    tolerance_seconds: Positive = 600
    stale_code: int | None = None


class CredentialSet(_Base, kw_only=True, frozen=True):
    """Credentials of their own, for operations whose ``auth:`` names this set; sent as
    body parameters (keyword -> wire name), or used to sign when ``signing`` is given and
    the user asks for signed requests."""

    body: dict[Name, str]
    signing: Signing | None = None
    code: int | None = None  # the code of an answer refusing these credentials


class Auth(_Base, kw_only=True, frozen=True):
    """Where credentials travel: as body/query parameters, or as a bearer token.

    ``body`` maps the keyword a user passes to ``mailspec.provider()`` to its wire name.
    ``sets`` are further credentials some operations use instead (an SMS API's own
    keys); they are optional when the provider is built and required by those
    operations. ``smtp`` names the credentials that log in to the SMTP servers.
    ``code`` is the code of an answer refusing the credentials.
    """

    body: dict[Name, str] = {}
    bearer: Name | None = None
    code: int | None = None
    sets: dict[Name, CredentialSet] = {}
    smtp: SmtpLogin | None = None


class AnswerField(_Base, kw_only=True, frozen=True):
    wire: str
    aliases: list[str] = []


class AnswerEnvelope(_Base, kw_only=True, frozen=True):
    """How every answer says how it went.

    ``code`` is read from the JSON body, or is the HTTP status when ``code_from`` is
    ``http``. Aliases are other spellings a provider is documented to send.
    """

    code_from: Literal["body", "http"] = "body"
    code: AnswerField | None = None
    message: AnswerField | None = None
    ok: AnswerField | None = None  # a boolean success flag beside the code (SendCloud's `result`)


class Limits(_Base, kw_only=True, frozen=True):
    """The provider's documented limits. A status window is a ``max_span`` rule of the
    status operation, and an attachment size is the ``max_total_bytes`` of its ``files``
    parameter. ``daily_quota`` is informational: nothing enforces it."""

    rate_per_minute: Positive | None = None
    recipients_per_request: Positive | None = None
    reply_to_max: Positive | None = None
    batch_size: Positive | None = None
    page_size: Positive | None = None
    daily_quota: Positive | None = None  # informational, not enforced


class Capabilities(_Base, kw_only=True, frozen=True):
    """What the send operations can carry. Template sending is known from the
    operations (``send_template``, or ``template_only``), tags and metadata from the
    ``mapping`` rows of the send operation."""

    attachments: bool = False
    inline_attachments: bool = False  # attachments with a content_id keep it
    cc_bcc: bool = False
    template_only: bool = False
    recipient_variables: bool = False
    variable_syntax: str = ""


class Param(_Base, kw_only=True, frozen=True):
    wire: str | None = None
    type: ParamType
    required: bool = False
    description: str = ""
    location: Literal["body", "query", "path"] | None = None
    format: ParamFormat | None = None
    join: str | None = None
    max_length: Positive | None = None
    max_items: Positive | None = None
    max_total_bytes: Positive | None = None
    minimum: int | None = None
    maximum: int | None = None
    enum: list[int | str] | None = None
    codes: dict[Constraint, int] = {}


class OneOf(_Base, kw_only=True, frozen=True, tag="one_of", tag_field="rule"):
    """Exactly one group of parameters is given, and that group in full."""

    groups: list[list[Name]]
    code: int | None = None


class AnyOf(_Base, kw_only=True, frozen=True, tag=ANY_OF, tag_field="rule"):
    """At least one of these parameters is given."""

    params: list[Name]
    code: int | None = None


class MaxSpan(_Base, kw_only=True, frozen=True, tag="max_span", tag_field="rule"):
    """Two date parameters at most ``days`` calendar days apart, counting both ends."""

    start: Name
    end: Name
    days: Positive
    code: int | None = None


Rule = OneOf | AnyOf | MaxSpan


class Operation(_Base, kw_only=True, frozen=True):
    """One HTTP call. ``ids`` is the dotted path, in the response shape, of the
    provider's message id (or list of ids) for a send; ``count``, of how many
    recipients the provider took (an int), which the sandbox reads to fill its
    answers."""

    summary: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    encoding: Literal["form", "json", "query"]
    response: ShapeName
    base: Name | None = None
    # "default" (the spec's auth), "none", or the name of a set in auth.sets
    auth: Name = "default"
    multipart_param: Name | None = None
    ids: str | None = None
    count: str | None = None
    params: dict[Name, Param] = {}
    rules: list[Rule] = []


class ShapeField(_Base, kw_only=True, frozen=True):
    type: str
    wire: str | None = None
    aliases: list[str] = []
    required: bool = False
    description: str = ""


class Shape(_Base, kw_only=True, frozen=True):
    description: str = ""
    fields: dict[Name, ShapeField]


class Code(_Base, kw_only=True, frozen=True):
    """One status code. ``partial`` marks a success that covered only some of the
    request's recipients (the others were refused).

    ``name`` is the code's member of the generated ``StatusCode`` enum. Without it the
    member is named after the first words of ``message``; give one where those words
    make a poor name (a typo in the document, a cut-off phrase, a message another code
    shares). It must be unique within the spec and differ from every derived name.
    """

    message: str
    name: CodeName | None = None
    category: ErrorCategory
    retryable: bool | None = None
    partial: bool = False


class StateRow(_Base, kw_only=True, frozen=True):
    state: DeliveryState
    description: str = ""


class SubStateRow(_Base, kw_only=True, frozen=True):
    state: DeliveryState
    reason: BounceReason
    description: str = ""


class DeliveryFields(_Base, kw_only=True, frozen=True):
    """Which field of a status record holds each part of a unified DeliveryStatus."""

    message_id: Name
    status: Name
    recipient: Name | None = None
    sub_status: Name | None = None
    description: Name | None = None
    timestamp: Name | None = None
    # engagement counters: above zero, a sent or delivered message is reported as
    # opened (or clicked), the furthest state the record shows
    opens: Name | None = None
    clicks: Name | None = None


class Delivery(_Base, kw_only=True, frozen=True):
    """How a status answer lists records (``records``/``total`` are dotted paths in the
    status operation's response shape; ``records: .`` means the answer is itself one
    record) and how each record maps to unified states."""

    record: ShapeName
    records: str
    total: str | None = None
    fields: DeliveryFields
    timestamp_format: str = ""
    states: dict[str, StateRow]
    sub_states: dict[str, SubStateRow] = {}


class WebhookFields(_Base, kw_only=True, frozen=True):
    """Which payload field (its name as sent) holds each part of a unified event.
    ``sub_status`` is looked up in ``delivery.sub_states`` for a bounce reason."""

    event: str
    message_id: str | None = None
    recipient: str | None = None
    timestamp: str | None = None
    reason: str | None = None
    sub_status: str | None = None
    url: str | None = None
    user_agent: str | None = None
    metadata: str | None = None


class WebhookSignature(_Base, kw_only=True, frozen=True):
    """The provider signs each event: ``signature`` holds the hex HMAC-SHA256 of
    ``str(timestamp) + token`` keyed by the account's webhook key. An event whose
    timestamp is more than ``tolerance_seconds`` away from now is refused, and so is a
    token seen before."""

    scheme: Literal["hmac_sha256"]
    timestamp: str
    token: str
    signature: str
    tolerance_seconds: Positive = 300


class WebhookEvent(_Base, kw_only=True, frozen=True):
    type: EventType
    description: str = ""


class Webhooks(_Base, kw_only=True, frozen=True):
    """The events a provider posts. Without ``signature`` the provider defines no
    scheme, and a shared secret in the webhook URL or basic auth stands in for one.
    ``timestamp_format`` is ``epoch`` (seconds, or milliseconds when above 10^11) or
    ``iso8601``."""

    encodings: list[Literal["form", "json"]]
    fields: WebhookFields
    timestamp_format: Literal["epoch", "iso8601"] = "iso8601"
    signature: WebhookSignature | None = None
    events: dict[str, WebhookEvent]


class Spec(_Base, kw_only=True, frozen=True):
    provider: ProviderInfo
    default_region: Name
    regions: dict[Name, Region]
    extra_bases: dict[Name, Url] = {}
    auth: Auth
    envelope: AnswerEnvelope
    limits: Limits = Limits()
    capabilities: Capabilities = Capabilities()
    operations: dict[Name, Operation]
    shapes: dict[ShapeName, Shape] = {}
    mapping: dict[Name, dict[Name, Name]] = {}
    delivery: Delivery | None = None
    webhooks: Webhooks | None = None
    codes: dict[int, Code]


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
