"""Check that mailspec's form encoder makes exactly the text urllib.parse.urlencode makes
(and raises where it raises), on random strings of every length class. Run by scripts/bench
before the timings: a faster encoder is only worth having if its bytes are the same."""

from __future__ import annotations

import random
import sys
from urllib.parse import urlencode

from mailspec.runtime.encoding import form_urlencode

_RANGES = ((0, 0x80), (0, 0x100), (0x80, 0x800), (0x800, 0x10000), (0x10000, 0x110000))


def _text(rng: random.Random) -> str:
    length = rng.choice((0, 1, 5, 40, 95, 96, 97, 300, 2000))
    weights = rng.choice(((1, 0, 0, 0, 0), (8, 1, 1, 1, 1), (1, 1, 1, 1, 1)))
    chars = []
    for _ in range(length):
        lo, hi = rng.choices(_RANGES, weights)[0]
        chars.append(chr(rng.randrange(lo, hi)))
    return "".join(chars)


def main(n: int = 1000, seed: int = 6) -> int:
    rng = random.Random(seed)
    special = ["", " ", "%", "+", "%20 +", "a b+c%d&e=f", "ü" * 200, "% +" * 100, "\udc80"]
    cases = [[(k, v) for k, v in zip(special, reversed(special), strict=True)]]
    cases += [[(_text(rng), _text(rng)) for _ in range(rng.randrange(1, 5))] for _ in range(n)]
    for pairs in cases:
        try:
            expected: str | type[BaseException] = urlencode(pairs)
        except UnicodeEncodeError:
            expected = UnicodeEncodeError
        try:
            got: str | type[BaseException] = form_urlencode(pairs)
        except UnicodeEncodeError:
            got = UnicodeEncodeError
        if got != expected:
            print(f"form encoder differs from urlencode for {pairs!r}", file=sys.stderr)
            return 1
    print(f"form encoder: identical to urllib.parse.urlencode on {len(cases)} random cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
