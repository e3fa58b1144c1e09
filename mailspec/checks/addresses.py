"""What an email address, a mailbox and a phone number look like to every check.

One strict parser of our own, not :func:`email.utils.getaddresses` (whose non-strict
parsing sends ``alice@example.org:<bob@example.com>`` to both addresses,
CVE-2023-27043): an entry is exactly one mailbox, ``address`` or
``Display Name <address>``, or it is refused with the reason.

Addresses follow RFC 5321/5322 and, for non-ASCII, RFC 6531 (SMTPUTF8), with the
safety rules of the email-validator corpus:

- local part: a dot-atom (no leading, trailing or double dots; apostrophes and the
  other RFC 5322 ``atext`` allowed) or a quoted string; non-ASCII letters, marks,
  digits, punctuation and symbols allowed, but no white space, control, format
  (zero-width, bidi override), private-use, unassigned or surrogate code point, and no
  combining mark first. At most 64 octets (UTF-8). A quoted local part may not hold
  ``,`` or ``;``: SendCloud-style providers join recipients with ``;``, and a list
  split inside an address would reach someone else.
- domain: dotted labels of letters, digits and hyphens, each 1 to 63 octets, no
  hyphen at a label's edge, no ``--`` at positions 3-4 but in an ``xn--`` label,
  which must be valid punycode of a valid internationalized label; at most 253
  octets; the last label not all digits. A domain without a dot (``localhost``) and an
  address literal (``[192.0.2.1]``) are refused: no provider delivers to them.
- the whole address at most 254 octets (RFC 5321's path limit less its brackets).

Internationalized domains are written as IDNA A-labels (``öäü.com`` →
``xn--4ca9at.com``), the form every wire takes (SMTP without SMTPUTF8, provider APIs),
and the form Django sends. Decision: the IDNA 2008 rules (RFC 5891/5892, with the UTS
46 mapping: NFKC, lower case) implemented on the standard library's RFC 3492
punycode codec, rather than ``encodings.idna``, which is IDNA 2003 (it maps ``ß`` to
``ss`` and accepts symbols IDNA 2008 disallows). Code points are allowed by their
general category (lower-case letters, other letters, modifiers, marks, decimal digits)
rather than RFC 5892's full derived table; the joiners CONTEXTJ allows (ZWJ, ZWNJ)
are refused as invisible, and the bidi rule (RFC 5893) is not checked. No runtime
dependency is added for it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

__all__ = [
    "CONTROL",
    "NOT_PLAIN",
    "PHONE",
    "AddressError",
    "Mailbox",
    "address_problem",
    "is_email",
    "is_mailbox",
    "is_plain_address",
    "name_problem",
    "needs_parsing",
    "parse_address",
    "parse_mailbox",
    "split_mailboxes",
]

# C0 controls, DEL and C1 controls: no address, header line or form field holds one
CONTROL = "\x00-\x1f\x7f-\x9f"
PHONE = re.compile(r"\+[1-9][0-9]{6,14}")  # E.164

MAX_ADDRESS = 254  # RFC 5321 4.5.3.1.3: a path is 256 octets, brackets included
MAX_LOCAL = 64  # RFC 5321 4.5.3.1.1
MAX_DOMAIN = 253  # RFC 1035 2.3.4, without the root's trailing dot
MAX_LABEL = 63

# RFC 5322 atext: what a dot-atom's atoms are made of in ASCII
_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
# the common case, checked without the parser: an ASCII dot-atom at an ASCII domain
# with no hyphen pair (so no xn-- label) and a TLD that starts with a letter
_PLAIN = re.compile(
    rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)
# the control characters of ASCII text (C0 and DEL), which alone need the slow scan
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LDH = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
# what a U-label may be made of, by general category (see the module docstring)
_LABEL_CATEGORIES = frozenset({"Ll", "Lo", "Lm", "Mn", "Mc", "Nd"})
# non-ASCII local-part characters: letters, marks, numbers, punctuation, symbols
_LOCAL_CATEGORIES = frozenset("LMNPS")
# dots that UTS 46 maps to "." in a domain (ideographic and fullwidth full stops)
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
# bidi embeddings, overrides and isolates, and the directional marks: they reorder
# what a reader sees of a display name
_BIDI = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
# RFC 5322 specials, which a display name may hold only inside double quotes
_SPECIALS = frozenset('()<>[]:;@\\,"')


class AddressError(ValueError):
    """Why a text is not one address or one mailbox (the reason, for an error message)."""


class Mailbox(NamedTuple):
    """One parsed mailbox: the display name ("" for none) and the normalised address."""

    name: str
    address: str


def is_email(value: object) -> bool:
    """Whether ``value`` is one address, as it should be written (normalised)."""
    return isinstance(value, str) and address_problem(value) is None


def is_mailbox(value: object) -> bool:
    """An address, or a display name and an address in angle brackets."""
    if not isinstance(value, str):
        return False
    if is_plain_address(value):
        return True  # the common case: a bare address, as it is sent
    try:
        parse_mailbox(value)
    except AddressError:
        return False
    return True


# what an address is not written with when it is written as it is sent: non-ASCII
# (an internationalized domain), a mailbox's `<`, quotes, white space around it
NOT_PLAIN = re.compile(r'[^\x00-\x7f]|[<"]|^\s|\s$')


def needs_parsing(text: str) -> bool:
    """Whether ``text`` may be a mailbox or an address written another way than it is
    sent (a name, quotes, outer spaces, an internationalized domain), so that it is
    parsed when a Message is built; any other text is checked as an address later,
    as it is (check_message)."""
    return NOT_PLAIN.search(text) is not None


def is_plain_address(text: str) -> bool:
    """Whether ``text`` is an address in the common form, checked without the parser:
    an ASCII dot-atom at an ASCII domain (no ``xn--`` label), within the lengths. What
    passes is an address as it is sent (:func:`parse_address` gives it back as it is);
    what fails may still be one, written another way."""
    return (
        len(text) <= MAX_ADDRESS
        and _PLAIN.fullmatch(text) is not None
        and "--" not in text
        and text.find("@") <= MAX_LOCAL  # the local part holds no "@": this is its length
    )


def address_problem(address: str) -> str | None:
    """Why ``address`` is not one address in its normalised form, or None."""
    if is_plain_address(address):
        return None
    try:
        normal = parse_address(address)
    except AddressError as exc:
        return str(exc)
    if normal != address:
        return f"write it as {normal!r}"
    return None


def parse_address(text: str) -> str:
    """``text`` as one address, normalised: a quoted local part without needless
    quotes, an internationalized domain as IDNA A-labels. AddressError says why not."""
    _refuse_controls(text)
    text = text.strip(" \t")
    if not text:
        raise AddressError("empty")
    local, at, domain = _split_at(text)
    if not at:
        raise AddressError("no @ between a local part and a domain")
    local = _local_part(local)
    domain = _domain(domain)
    address = f"{local}@{domain}"
    if len(address.encode()) > MAX_ADDRESS:
        raise AddressError(f"longer than {MAX_ADDRESS} octets")
    return address


def parse_mailbox(text: str) -> Mailbox:
    """``text`` as exactly one mailbox: ``address``, ``<address>`` or
    ``Display Name <address>`` (a name with specials such as ``,`` in double quotes).
    AddressError says why not, for one that holds several addresses too."""
    _refuse_controls(text)
    text = text.strip(" \t")
    opening = _angle_start(text)
    if opening is None:
        try:
            return Mailbox("", parse_address(text))
        except AddressError as exc:
            if "," in text or text.count("@") > 1:
                raise AddressError(
                    f"one entry holds one address ({exc}); give each address as an entry of its own"
                ) from None
            raise
    if not text.endswith(">"):
        raise AddressError("text after the '>' of the address")
    name = _display_name(text[:opening])
    return Mailbox(name, parse_address(text[opening + 1 : -1]))


def split_mailboxes(text: str) -> list[Mailbox]:
    """A header value listing mailboxes (``Reply-To: a@x.org, "B, b" <b@x.org>``),
    split at the commas outside quotes and angle brackets, each parsed strictly."""
    parts, start, quoted, angle, escaped = [], 0, False, False, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char in "<>":
            angle = char == "<"
        elif char == "," and not quoted and not angle:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [parse_mailbox(part) for part in parts if part.strip()]


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a display name (a control or bidi character), or None."""
    if name.isascii() and name.isprintable():
        return None
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cs"):
            return f"a control character (U+{ord(char):04X})"
    found = _BIDI.search(name)
    if found is not None:
        return f"a bidi control character (U+{ord(found.group()):04X})"
    return None


# --- the parts -----------------------------------------------------------------------


def _refuse_controls(text: str) -> None:
    if text.isascii() and _ASCII_CONTROL.search(text) is None:
        return  # no control (ASCII's are C0 and DEL) and no surrogate: nothing to say
    for char in text:
        if char in "\r\n":
            raise AddressError("a line break (header injection)")
        if unicodedata.category(char) == "Cc":
            raise AddressError(f"a control character (U+{ord(char):04X})")
        if unicodedata.category(char) == "Cs":
            raise AddressError(f"a lone surrogate (U+{ord(char):04X}): UTF-8 cannot encode it")


def _split_at(text: str) -> tuple[str, str, str]:
    """(local part, "@", domain): the local part may be quoted and hold an "@"."""
    if text.startswith('"'):
        end = _quote_end(text, 0)
        if end is None:
            raise AddressError("a quote that is not closed")
        local, rest = text[: end + 1], text[end + 1 :]
        if not rest.startswith("@"):
            raise AddressError("no @ right after the quoted local part")
        return local, "@", rest[1:]
    return text.rpartition("@")


def _quote_end(text: str, start: int) -> int | None:
    """The index of the quote closing the one at ``start``, or None."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    return None


def _local_part(local: str) -> str:
    if not local:
        raise AddressError("no local part before the @")
    if local.startswith('"'):
        local = _quoted_local(local)
    else:
        _dot_atom(local)
        local = unicodedata.normalize("NFC", local)
    if len(local.encode()) > MAX_LOCAL:
        raise AddressError(f"local part longer than {MAX_LOCAL} octets")
    return local


def _dot_atom(local: str) -> None:
    if local.startswith(".") or local.endswith("."):
        raise AddressError("a local part may not start or end with a dot")
    if ".." in local:
        raise AddressError("two dots in a row in the local part")
    if unicodedata.category(local[0]).startswith("M"):
        raise AddressError("a local part may not start with a combining mark")
    for char in local:
        if char == "." or (char.isascii() and re.fullmatch(f"[{_ATEXT}]", char)):
            continue
        if char.isascii():
            raise AddressError(
                f"{char!r} in the local part (allowed only in a quoted local part)"
                if char in ' ()<>[]:;@\\,"'
                else f"{char!r} in the local part"
            )
        _safe_char(char, "local part")


def _safe_char(char: str, where: str) -> None:
    category = unicodedata.category(char)
    if category[0] in _LOCAL_CATEGORIES:
        return
    what = {
        "Cf": "an invisible or bidi control character",
        "Co": "a private-use character",
        "Cn": "an unassigned code point",
        "Cs": "a lone surrogate",
    }.get(category, "a white space or control character")
    raise AddressError(f"{what} (U+{ord(char):04X}) in the {where}")


def _quoted_local(local: str) -> str:
    """A quoted local part, unquoted where it is a dot-atom (``"ann"`` is ``ann``)."""
    if _quote_end(local, 0) != len(local) - 1:
        raise AddressError("text after the quoted local part")
    content, inner, i = [], local[1:-1], 0
    while i < len(inner):
        char = inner[i]
        if char == "\\":
            if i + 1 == len(inner):
                raise AddressError("a backslash at the end of the quoted local part")
            char = inner[i + 1]
            i += 1
        content.append(char)
        i += 1
    text = unicodedata.normalize("NFC", "".join(content))
    if not text:
        raise AddressError("an empty quoted local part")
    for char in text:
        if char in ",;":
            raise AddressError(
                f"{char!r} in a quoted local part (a provider's recipient list would split it)"
            )
        if char != " " and not char.isascii():
            _safe_char(char, "local part")
    try:
        _dot_atom(text)
    except AddressError:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return text


def _domain(domain: str) -> str:
    if not domain:
        raise AddressError("no domain after the @")
    if domain.startswith("["):
        raise AddressError("an address literal ([…]) is not deliverable through a provider")
    domain = domain.translate(_DOTS)
    labels = domain.split(".")
    if len(labels) == 1:
        raise AddressError(
            f"the domain {domain!r} has no dot: a name such as localhost is not an "
            "internet domain, and providers refuse it"
        )
    if "" in labels:
        raise AddressError("an empty label (a dot at the start or end, or two in a row)")
    ascii_labels = [_label(label) for label in labels]
    if ascii_labels[-1].isdigit():
        raise AddressError("the last label is all digits (not a top-level domain)")
    ascii_domain = ".".join(ascii_labels)
    if len(ascii_domain) > MAX_DOMAIN:
        raise AddressError(f"domain longer than {MAX_DOMAIN} octets")
    return ascii_domain  # ASCII labels as given: a recipient_variables key still matches


def _label(label: str) -> str:
    """One label as ASCII: an LDH label as given, a U-label as its A-label."""
    if label.isascii():
        lower = label.lower()
        if not _LDH.fullmatch(lower):
            raise AddressError(_ldh_problem(label))
        if len(label) > MAX_LABEL:
            raise AddressError(f"a domain label longer than {MAX_LABEL} octets")
        if lower.startswith("xn--"):
            _a_label(lower)
        elif lower[2:4] == "--":
            raise AddressError(f"{label!r}: '--' at positions 3-4 is kept for xn-- labels")
        return label
    return _to_a_label(label)


def _ldh_problem(label: str) -> str:
    if label.startswith("-") or label.endswith("-"):
        return f"{label!r}: a domain label may not start or end with a hyphen"
    bad = next(c for c in label if not (c.isalnum() or c == "-"))
    return f"{bad!r} in the domain (letters, digits and hyphens only)"


def _a_label(label: str) -> None:
    """An ``xn--`` label must be punycode of a valid U-label, in its one spelling."""
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError, IndexError, OverflowError):
        raise AddressError(f"{label!r} is not valid punycode") from None
    if decoded.isascii() or _to_a_label(decoded) != label:
        raise AddressError(f"{label!r} is not the punycode of an internationalized label")


def _to_a_label(label: str) -> str:
    """A U-label mapped as UTS 46 maps one (NFKC, lower case) and checked by the IDNA
    2008 rules this module keeps (see its docstring), as ``xn--`` + punycode."""
    mapped = unicodedata.normalize("NFC", unicodedata.normalize("NFKC", label).lower())
    if mapped.isascii():  # fullwidth letters, say: an LDH label once mapped
        return _label(mapped)
    if "." in mapped:
        raise AddressError(f"{label!r} holds a character that reads as a dot")
    if mapped.startswith("-") or mapped.endswith("-") or mapped[2:4] == "--":
        raise AddressError(f"{label!r}: hyphens at a label's edge or at positions 3-4")
    if unicodedata.category(mapped[0]).startswith("M"):
        raise AddressError(f"{label!r}: a domain label may not start with a combining mark")
    for char in mapped:
        if char.isascii():
            if not (char.isalnum() or char == "-"):
                raise AddressError(f"{char!r} in the domain (letters, digits and hyphens only)")
        elif unicodedata.category(char) not in _LABEL_CATEGORIES:
            raise AddressError(
                f"U+{ord(char):04X} in the domain: not a letter, mark or digit IDNA allows"
            )
    a_label = "xn--" + mapped.encode("punycode").decode("ascii")
    if len(a_label) > MAX_LABEL:
        raise AddressError(f"a domain label longer than {MAX_LABEL} octets as IDNA")
    return a_label


def _angle_start(text: str) -> int | None:
    """The index of the ``<`` opening the address, outside quotes; None if none."""
    if '"' not in text:
        found = text.find("<")
        return None if found < 0 else found
    i = 0
    while i < len(text):
        if text[i] == '"':
            end = _quote_end(text, i)
            if end is None:
                raise AddressError("a quote that is not closed")
            i = end + 1
            continue
        if text[i] == "<":
            return i
        i += 1
    return None


def _display_name(phrase: str) -> str:
    """The display name a phrase spells: quoted words unquoted, runs of white space as
    one space. Specials outside quotes are refused: ``a@x.org:<b@y.org>`` is not a name
    and an address, but two addresses."""
    words: list[str] = []
    i = 0
    while i < len(phrase):
        char = phrase[i]
        if char == '"':
            end = _quote_end(phrase, i)
            assert end is not None  # _angle_start found every quote closed
            words.append(re.sub(r"\\(.)", r"\1", phrase[i + 1 : end]))
            i = end + 1
            continue
        if char in _SPECIALS:
            raise AddressError(
                f"{char!r} in a display name outside double quotes: one entry is one "
                'mailbox, and a name with specials is quoted ("Smith, Ann" <ann@…>)'
            )
        words.append(" " if char.isspace() else char)
        i += 1
    name = re.sub(r"\s+", " ", "".join(words)).strip()
    problem = name_problem(name)
    if problem is not None:
        raise AddressError(f"{problem} in the display name")
    return name
