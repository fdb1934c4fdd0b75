"""What the Python API costs (docs/python-api.md): loading a Checker, one order alone, orders in a batch,
and one Checker shared by threads, on the benchmark corpus.

    .venv/bin/python bench/bench_api.py [--orders 400] [--threads 8]

Each number is printed beside its expectation. The API adds no work of its own to the command's
pipeline: an order checked alone pays for every rule's query once (about 50 ms here), one of a
batch a 64th of that; the command batches, and so does check_many.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

import chemo_protovalidate as pv  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}")
    orders = [item.data for item in corpus.build(args.orders, "bench-api")[0]]

    start = time.perf_counter()
    checker = pv.Checker()
    loaded = time.perf_counter() - start
    print(f"Checker() (knowledge base, compiled):       {loaded:6.3f} s        expect <= 1 s, once per process")

    alone = []
    for order in orders[:50]:
        start = time.perf_counter()
        checker.check(order)
        alone.append(time.perf_counter() - start)
    print(f"check(), one order alone, median of 50:     {statistics.median(alone) * 1000:6.1f} ms       "
          f"expect <= 100 ms (an order-entry call)")

    start = time.perf_counter()
    in_one = checker.check_many(orders)
    batched = time.perf_counter() - start
    print(f"check_many(), {len(orders)} orders:                 {batched / len(orders) * 1000:6.1f} ms/order "
          f"expect about the command's (bench_rules.py)")

    start = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        threaded = list(pool.map(checker.check, orders))
    shared = time.perf_counter() - start
    same = all([f.message for f in a.findings] == [f.message for f in b.findings] for a, b in zip(in_one, threaded))
    print(f"check() from {args.threads} threads, {len(orders)} orders:        {shared / len(orders) * 1000:6.1f} ms/order "
          f"expect < check() alone; same findings: {same}")


if __name__ == "__main__":
    main()
