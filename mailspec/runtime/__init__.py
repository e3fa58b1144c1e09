"""The HTTP runtime the generated clients share (urllib3 and msgspec only)."""

from .client import DEFAULT_TIMEOUT, BaseClient
from .secrets import Secret, redact

__all__ = ["DEFAULT_TIMEOUT", "BaseClient", "Secret", "redact"]
