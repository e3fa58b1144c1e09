"""Whether a Redis server keeps what exactly-once needs, read from the server itself.

The ledger's promise (a resent key is replayed, never sent again) holds only while its
records are there. A Redis server loses them two ways without an error to anyone:

- **eviction**: with ``maxmemory`` set and any ``maxmemory-policy`` but ``noeviction``,
  Redis deletes keys when memory runs short. The ``volatile-*`` policies delete keys
  that carry an expiry, and every ledger record carries one (its retention), so they
  evict exactly those; ``allkeys-*`` evict anything.
- **no persistence**: with neither AOF (``appendonly yes``) nor RDB snapshots (a
  ``save`` schedule), a restart starts empty.

:func:`read` asks ``CONFIG GET`` for ``maxmemory``, ``maxmemory-policy``,
``appendonly`` and ``save``; where CONFIG is renamed away or refused by an ACL (as
managed Redis services do), ``INFO memory`` and ``INFO persistence`` (which show the
policy and whether AOF is on, not a ``save`` schedule). What it cannot read is None,
and :func:`problems` reports it as unknown rather than guessing it safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

__all__ = ["Settings", "problems", "read", "refusal"]

_USE_IT_ANYWAY = (
    "To use this server anyway, add ?durability=warn (log this and go on) or "
    "?durability=off to the store URL"
)


@dataclass(frozen=True)
class Settings:
    """What the server said; None where it would not say."""

    maxmemory: int | None = None  # bytes; 0: no limit, so nothing is ever evicted
    policy: str | None = None  # maxmemory-policy
    aof: bool | None = None  # appendonly
    rdb: bool | None = None  # a save schedule is set
    refused: str | None = None  # why CONFIG GET and INFO both failed, when they did


def read(client: redis.Redis) -> Settings:
    """The server's eviction and persistence settings. Connection errors propagate
    (the caller retries them); a refused command falls back, then reads as None."""
    try:
        return _from_config(client)
    except redis.ResponseError as config_refused:
        try:
            return _from_info(client)
        except redis.ResponseError as info_refused:
            return Settings(refused=f"CONFIG GET: {config_refused}; INFO: {info_refused}")


def _from_config(client: redis.Redis) -> Settings:
    # one name per call: CONFIG GET takes several only since Redis 7
    def get(name: str) -> str | None:
        answer: Any = client.config_get(name)  # {name: value}, or {} for one it lacks
        value = answer.get(name)
        return value.decode() if isinstance(value, bytes) else value

    maxmemory, policy = get("maxmemory"), get("maxmemory-policy")
    appendonly, save = get("appendonly"), get("save")
    return Settings(
        maxmemory=int(maxmemory) if maxmemory is not None and maxmemory.isdigit() else None,
        policy=policy,
        aof=None if appendonly is None else appendonly == "yes",
        rdb=None if save is None else save.strip() != "",
    )


def _from_info(client: redis.Redis) -> Settings:
    memory: dict[str, Any] = client.info("memory")
    persistence: dict[str, Any] = client.info("persistence")
    maxmemory = memory.get("maxmemory")
    policy = memory.get("maxmemory_policy")
    aof = persistence.get("aof_enabled")
    return Settings(
        maxmemory=maxmemory if isinstance(maxmemory, int) else None,
        policy=str(policy) if policy is not None else None,
        aof=None if aof is None else bool(aof),
        rdb=None,  # INFO shows past snapshots, not whether any are scheduled
    )


def problems(settings: Settings) -> list[str]:
    """Each way the server may lose ledger records, with the setting and its fix;
    empty when it keeps them."""
    if settings.refused is not None:
        return [
            "its eviction policy and persistence cannot be read "
            f"({settings.refused}): allow this user CONFIG GET or INFO, or check "
            "maxmemory-policy and appendonly yourself"
        ]
    found = []
    eviction = _eviction(settings)
    if eviction:
        found.append(eviction)
    persistence = _persistence(settings)
    if persistence:
        found.append(persistence)
    return found


def _eviction(settings: Settings) -> str | None:
    if settings.maxmemory == 0 or settings.policy == "noeviction":
        return None  # no memory limit, or a full server refuses writes instead
    if settings.policy is None or settings.maxmemory is None:
        return (
            "its maxmemory-policy cannot be read: a policy other than noeviction "
            "deletes ledger records when memory runs short; check that it is noeviction"
        )
    which = (
        "keys that carry an expiry, as every ledger record does"
        if settings.policy.startswith("volatile-")
        else "any key"
    )
    return (
        f"maxmemory-policy is {settings.policy} (maxmemory {settings.maxmemory} bytes): "
        f"when memory runs short Redis deletes {which}, and a message resent after "
        "its record went is sent again; set maxmemory-policy noeviction (writes are "
        "then refused, loudly, when memory is full)"
    )


def _persistence(settings: Settings) -> str | None:
    if settings.aof or settings.rdb:
        return None
    if settings.aof is None or settings.rdb is None:
        return (
            "whether it persists cannot be read (appendonly "
            f"{_shown(settings.aof)}, save schedule {_shown(settings.rdb)}): "
            "without AOF or RDB snapshots a restart forgets every ledger record; "
            "check that appendonly is yes"
        )
    return (
        "it does not persist (appendonly no, save ''): a restart forgets every "
        "ledger record, and every message resent after it is sent again; set "
        "appendonly yes with appendfsync everysec (or a save schedule, which loses "
        "the writes since the last snapshot on a crash)"
    )


def _shown(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def refusal(found: list[str]) -> str:
    """The StoreError text for a server with ``found`` problems."""
    return (
        "this Redis server may lose the ledger's records, and with them exactly-once: "
        + "; ".join(found)
        + f". {_USE_IT_ANYWAY}."
    )
