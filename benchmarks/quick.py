"""Kept for old habits: `python benchmarks/quick.py ARGS` is `python benchmarks/bench.py --quick
ARGS` (the smoke run of the benchmark). See benchmarks/README.md."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench  # noqa: E402

if __name__ == "__main__":
    sys.exit(bench.main(["--quick"] + sys.argv[1:]))
