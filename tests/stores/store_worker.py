"""One worker process for the cross-process store tests (run as a script by
stores_support.Workers): it prints ``ready``, waits for the go file, does one job against
a store URL, prints its result and exits. Every wait is bounded, so a worker the test
forgot ends by itself.

Jobs:
  count URL KEY N            N increments of one counter through transact()
  breaker URL DEAD_URL       send to a provider that refuses connections, until its
                             breaker opens
  claim URL KEY OWNER LEASE  claim KEY in the ledger, print the status, then sleep
                             (to be killed)
  send URL PROVIDER_URL N    send N messages through a Mailer on the shared store
  send_key URL PROVIDER_URL KEY
                             send one message with idempotency key KEY; print whether
                             the result was replayed from the ledger
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import msgspec

import mailspec
from mailspec import Mailer, Message
from mailspec.mailer import Ledger
from mailspec.mailer.store import transact


class Counter(msgspec.Struct, frozen=True):
    n: int = 0


def count(url: str, key: str, n: int) -> str:
    store = mailspec.store(url)

    def bump(c: Counter) -> tuple[Counter, None]:
        return Counter(c.n + 1), None

    for _ in range(n):
        transact(store, key, Counter, Counter(), bump)
    return "counted"


def breaker(url: str, dead_url: str) -> str:
    provider = mailspec.provider(
        "aurorasendcloud", api_user="u", api_key="worker-key-1", base_url=dead_url, timeout=2
    )
    mailer = Mailer([provider], store=url, breaker_threshold=2, breaker_cooldown=300, backoff=0)
    try:
        mailer.send(message("open it"))
    except mailspec.AllProvidersFailed:
        pass  # as it should: nothing listens there
    else:
        sys.exit("a send to a provider that refuses connections went through")
    opened = mailer.breaker("aurorasendcloud")
    assert opened is not None
    return msgspec.json.encode(opened.state()).decode()


def claim(url: str, key: str, owner: str, lease: float) -> str:
    got = Ledger(mailspec.store(url)).claim(key, owner, lease, time.time())
    print(got.status.value, flush=True)
    time.sleep(60)  # the test kills us long before
    return "not killed"


def send(url: str, provider_url: str, n: int) -> str:
    provider = mailspec.provider_from_url(provider_url)
    # wait as long as it takes for a token: the test is about the shared rate
    mailer = Mailer([provider], store=url, rate_limit_wait=60, deadline=120)
    for i in range(n):
        mailer.send(message(f"m{i}"))
    return f"sent {n}"


def send_key(url: str, provider_url: str, key: str) -> str:
    mailer = Mailer([mailspec.provider_from_url(provider_url)], store=url)
    sent = msgspec.structs.replace(message("once"), idempotency_key=key)
    result = mailer.send(sent)
    return f"replayed={result.replayed} ids={','.join(result.message_ids)}"


def message(subject: str) -> Message:
    return Message(
        from_email="shop@example.com", to="ann@example.org", subject=subject, html="<p>Hi</p>"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--go", type=Path, required=True)
    parser.add_argument("job")
    parser.add_argument("args", nargs="*")
    options = parser.parse_args()
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not options.go.exists():
        if time.monotonic() > deadline:
            sys.exit("no go file within 60 s")
        time.sleep(0.01)
    a = options.args
    if options.job == "count":
        result = count(a[0], a[1], int(a[2]))
    elif options.job == "breaker":
        result = breaker(a[0], a[1])
    elif options.job == "claim":
        result = claim(a[0], a[1], a[2], float(a[3]))
    elif options.job == "send":
        result = send(a[0], a[1], int(a[2]))
    elif options.job == "send_key":
        result = send_key(a[0], a[1], a[2])
    else:
        sys.exit(f"unknown job {options.job}")
    print(result, flush=True)


if __name__ == "__main__":
    main()
