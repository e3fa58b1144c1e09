"""Keep credentials out of *other libraries'* log records.

mailspec's own records never carry a credential, but urllib3 logs every request line it
sends through a pool at DEBUG (``connectionpool``:
``"GET /api/data/emailStatus?apiUser=…&apiKey=… HTTP/1.1"``), and a status call is a GET
whose query string carries the key. The Transport writes through urllib3's connections,
not its pool's ``urlopen``, so it no longer produces those lines; the filter stays for
every record urllib3 does log (connections, errors, a future version's lines). :func:`install` puts one
:class:`SecretFilter` on the ``urllib3`` loggers; it replaces the value of every live
:class:`~mailspec.runtime.secrets.Secret` (as is, and percent-encoded as it travels in
a URL or form) with ``***`` in a record's message, arguments and exception text.

It is installed once per process, when the first Transport is built. A logger's filters
run only for records that logger is enabled for, so it costs nothing unless someone
turns urllib3's DEBUG logging on.
"""

from __future__ import annotations

import logging
import threading

from .secrets import live_secrets, redact

__all__ = ["LOGGERS", "SecretFilter", "install", "scrub"]

# urllib3's module loggers: a filter on a parent logger does not see records logged on
# its children, so each gets the filter
LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
)


def scrub(text: str) -> str:
    """``text`` with every live credential (in any of its wire forms) replaced by ``***``."""
    return redact(text, live_secrets())


class SecretFilter(logging.Filter):
    """Redacts; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's to report
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


_FILTER = SecretFilter()
_LOCK = threading.Lock()
_installed = False


def install() -> None:
    """Put the filter on urllib3's loggers (idempotent)."""
    global _installed
    if _installed:
        return
    with _LOCK:
        if _installed:
            return
        names = set(LOGGERS) | {
            name for name in list(logging.root.manager.loggerDict) if name.startswith("urllib3.")
        }
        for name in sorted(names):
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
        _installed = True
