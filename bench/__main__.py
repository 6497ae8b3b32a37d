"""`python -m bench`: the whole suite, a table on stdout and JSON under bench/results/."""

from __future__ import annotations

from bench.run import main

if __name__ == "__main__":
    raise SystemExit(main())
