"""Orders per second: protovalidate beside plain pyshacl on the same orders.

    .venv/bin/python bench/bench_orders.py [--copies 20] [--baseline-orders 3]

Prints numbers; asserts nothing. Three measurements:
1. in process: the Validator (knowledge base and shapes loaded once) over
   N copies of every valid example order;
2. the command: one `protovalidate` call on a directory of those copies,
   interpreter start and knowledge-base loading included (once per run, not
   per file), and one call on the whole examples/orders folder;
3. the baseline: `pyshacl.validate` per order, the usual way (shapes as the
   shacl graph, the ontology and regimens as the ont graph, RDFS inference,
   SHACL-AF rules on), on the first few orders: it takes seconds per order.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from chemo_protovalidate.documents import read_document
from chemo_protovalidate.validate import Validator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples" / "orders" / "valid").glob("*.jsonld"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--baseline-orders", type=int, default=3)
    args = parser.parse_args()
    files = [(p.name, p.read_bytes()) for p in EXAMPLES]

    started = time.perf_counter()
    validator = Validator()
    load_s = time.perf_counter() - started

    orders, started = 0, time.perf_counter()
    for _ in range(args.copies):
        for name, data in files:
            orders += len(validator.check(name, data).orders)
    batch_s = time.perf_counter() - started
    triples = sum(len(o.graph) for n, d in files for o in read_document(n, d, validator.kb.context).orders)

    with tempfile.TemporaryDirectory() as folder:
        for copy in range(args.copies):
            for path in EXAMPLES:
                shutil.copy(path, Path(folder) / f"{copy:04d}-{path.name}")
        command = Path(sys.executable).parent / "protovalidate"
        started = time.perf_counter()
        subprocess.run([str(command), folder], capture_output=True, check=False)
        command_s = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run([str(command), str(EXAMPLES[0])], capture_output=True, check=False)
        cold_s = time.perf_counter() - started

    folder = ROOT / "examples" / "orders"
    folder_files = len([p for p in folder.rglob("*") if p.suffix in (".jsonld", ".ttl")])
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "protovalidate"), str(folder)], capture_output=True, check=False)
    examples_s = time.perf_counter() - started

    import pyshacl

    baseline = []
    for name, data in files[: args.baseline_orders]:
        for order in read_document(name, data, validator.kb.context).orders:
            started = time.perf_counter()
            pyshacl.validate(order.graph, shacl_graph=validator.kb.shapes, ont_graph=validator.kb.graph,
                             inference="rdfs", advanced=True, allow_warnings=True)
            baseline.append(time.perf_counter() - started)

    per_order_ms = batch_s / orders * 1000
    baseline_ms = statistics.mean(baseline) * 1000
    print(f"example orders: {len(files)} files, {orders // args.copies} orders, copies: {args.copies}")
    print(f"RDF triples per order (mean): {triples / (orders // args.copies):.0f}")
    print(f"knowledge base + shapes load: {load_s * 1000:.0f} ms (once per run)")
    print(f"protovalidate in process: {orders / batch_s:.1f} orders/s, {per_order_ms:.1f} ms/order ({orders} orders)")
    print(f"protovalidate command on {orders} orders: {command_s:.2f} s wall, {orders / command_s:.1f} orders/s")
    print(f"protovalidate command, one order, cold: {cold_s:.2f} s wall")
    print(f"protovalidate command on examples/orders ({folder_files} files, valid and invalid): {examples_s:.2f} s wall, "
          f"{folder_files / examples_s:.1f} files/s")
    print(f"pyshacl.validate per order (ont graph, rdfs, advanced): {baseline_ms:.0f} ms/order "
          f"over {len(baseline)} orders")
    print(f"speed-up in process: {baseline_ms / per_order_ms:.0f}x")


if __name__ == "__main__":
    main()
