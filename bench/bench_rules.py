"""What the rules cost alone: the engine over the benchmark corpus's orders, read beforehand.

    .venv/bin/python bench/bench_rules.py
    OTHER/.venv/bin/python bench/bench_rules.py --corpus-from OTHER/bench   # another version, same orders

The command's throughput (bench_speed.py) also pays for reading each file and for
placing each finding on its line, and a change of rules changes how many findings
there are: rule book v2 asks every order for supportive care that v1 orders lack, so
on the v1 corpus every file draws warnings and is read a second time for their
positions. This measures the rules alone: each order is read once, outside the clock,
and the engine checks them in batches as the command does (best of --rounds passes).

The package measured is the one the running Python imports, so another version's
virtual environment measures that version; --corpus-from takes the corpus builder
(corpus.py and the tests/mutants.py beside it) from another checkout, so that two
versions are timed on the same orders. Asserts nothing; prints the machine's load.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

from chemo_protovalidate.check.pipeline import Pipeline
from chemo_protovalidate.read.documents import read_document


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus-from", type=Path, default=Path(__file__).resolve().parent,
                        help="the bench folder whose corpus.py builds the orders (default: this one)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    sys.path.insert(0, str(args.corpus_from.resolve()))
    corpus = importlib.import_module("corpus")
    items, _ = corpus.build()
    validator = Pipeline()
    orders = [order.triples for item in items
              for order in read_document(item.name, item.data, validator.kb.context).orders]
    batch = getattr(validator.engine, "batch_size", 1)
    passes = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for start in range(0, len(orders), batch):
            validator.engine.check_many(orders[start:start + batch])
        passes.append(time.perf_counter() - started)
    best = min(passes)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; package "
          f"{Path(sys.modules['chemo_protovalidate'].__file__).parent}; corpus from {args.corpus_from}")
    print(f"the rules alone: {len(orders)} orders in {best:.2f} s (best of {args.rounds}), "
          f"{best / len(orders) * 1000:.2f} ms/order, batches of {batch}")


if __name__ == "__main__":
    main()
