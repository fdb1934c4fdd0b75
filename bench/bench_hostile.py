"""Hostile and oversized input: each is a finding or a bounded run. Prints wall time and peak memory.

    .venv/bin/python bench/bench_hostile.py [--orders 10000]

Runs the installed command on generated files in a temporary folder:
a file of N orders (a valid KRd cycle repeated with its own @ids), an order
with 100,000 administrations, a 50 MB file, JSON nested 10,000 deep. Peak
memory is the child's maximum resident set (resource.getrusage).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = str(Path(sys.executable).parent / "protovalidate")
ORDER = json.loads((ROOT / "examples" / "orders" / "valid" / "KRd-cycle1.jsonld").read_text("utf-8"))


def measure(label: str, path: Path, *options: str) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run([COMMAND, *options, str(path)], capture_output=True, timeout=3600)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    size = path.stat().st_size / 1e6
    summary = done.stderr.decode().strip().splitlines()[-1] if done.stderr else ""
    print(f"{label}: {size:.1f} MB, exit {done.returncode}, {seconds:.2f} s, "
          f"peak RSS {max(peak, before) / 1024:.0f} MB | {summary}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        many = [{**ORDER, "@id": f"urn:bench:order:{i}",
                 "patient": {**ORDER["patient"], "@id": f"urn:bench:patient:{i}"}} for i in range(args.orders)]
        (folder / "many.jsonld").write_text(json.dumps(many), "utf-8")
        measure(f"{args.orders} orders in one file", folder / "many.jsonld", "--max-bytes", str(10**9))

        wide = {**ORDER, "administrations": [{"agent": "aspirin", "day": 1 + i % 28, "dose": {"value": 100, "unit": "mg"},
                                              "route": "PO"} for i in range(100_000)]}
        (folder / "wide.jsonld").write_text(json.dumps(wide), "utf-8")
        measure("one order, 100,000 administrations", folder / "wide.jsonld", "--max-bytes", str(10**9))

        (folder / "huge.jsonld").write_text(json.dumps({**ORDER, "padding": "x" * 50_000_000}), "utf-8")
        measure("a 50 MB file", folder / "huge.jsonld")

        (folder / "deep.jsonld").write_text("[" * 10_000 + "]" * 10_000, "utf-8")
        measure("JSON nested 10,000 deep", folder / "deep.jsonld")


if __name__ == "__main__":
    main()
