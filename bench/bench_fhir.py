"""What reading FHIR costs (docs/fhir.md): the benchmark corpus written as FHIR R4, RequestGroup and Bundle,
beside the same orders as JSON-LD.

    .venv/bin/python bench/bench_fhir.py [--orders 1000] [--repeat 5]

Prints, per order: the reading alone (bytes to the orders' RDF, as the pipeline reads a file) for
JSON-LD and for each FHIR layout; of the difference, what parsing the larger JSON text costs (a FHIR
document of the corpus is some 7.6 times the bytes of its JSON-LD order; json.loads in C, the same
parser for both) and what is left, the conversion (FHIR to orders and their places; target <= 1 ms an
order); and the whole check (the pipeline, batches of 64) of each, with the verdicts compared. Orders the FHIR
layouts cannot write the same way (tests/fhir_writer.py says why) are left out of all three.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
import corpus  # noqa: E402
import fhir_writer  # noqa: E402

from chemo_protovalidate.check.pipeline import Pipeline  # noqa: E402
from chemo_protovalidate.read.documents import read_document  # noqa: E402
from chemo_protovalidate.read.jsonld import load_json  # noqa: E402

TARGET_MS = 1.0


def _read_all(pipeline: Pipeline, files: list[tuple[str, bytes]]) -> float:
    start = time.perf_counter()
    for name, data in files:
        document = read_document(name, data, pipeline.kb.context, pipeline.max_administrations)
        for order in document.orders:
            order.triples  # noqa: B018  (the orders are made as they are gone through)
    return time.perf_counter() - start


def _parse_all(files: list[tuple[str, bytes]]) -> float:
    start = time.perf_counter()
    for _, data in files:
        load_json(data.decode("utf-8"))
    return time.perf_counter() - start


def _verdicts(pipeline: Pipeline, files: list[tuple[str, bytes]]) -> tuple[float, list]:
    start = time.perf_counter()
    results = list(pipeline.check_files(files))
    elapsed = time.perf_counter() - start
    return elapsed, [sorted((f.rule_id, f.severity.value, f.agent, f.day) for o in r.orders for f in o.findings)
                     for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="reading passes; the best is shown")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}")
    items = corpus.build(args.orders, corpus.DEFAULT_SEED)[0]
    layouts = {"jsonld": [], "RequestGroup": [], "Bundle": []}
    left_out = 0
    for item in items:
        order = json.loads(item.data)
        written = {"RequestGroup": fhir_writer.request_group(order), "Bundle": fhir_writer.bundle(order)}
        if any(w.document is None for w in written.values()):
            left_out += 1
            continue
        layouts["jsonld"].append((item.name, item.data))
        for layout, w in written.items():
            layouts[layout].append((item.name.replace(".jsonld", f".{layout}.json"), json.dumps(w.document).encode()))
    count = len(layouts["jsonld"])
    print(f"corpus: {len(items)} orders, {count} written both ways ({left_out} left out: the writer cannot)")
    pipeline = Pipeline(administrations=False)
    # The layouts take turns within each pass, so that a machine that slows down or speeds up during the run
    # shifts all three alike: the figures are differences of the best passes.
    passes = [{layout: (_read_all(pipeline, files), _parse_all(files)) for layout, files in layouts.items()}
              for _ in range(args.repeat)]
    reading = {layout: min(p[layout][0] for p in passes) / count * 1000 for layout in layouts}
    parsing = {layout: min(p[layout][1] for p in passes) / count * 1000 for layout in layouts}
    print(f"reading, JSON-LD:            {reading['jsonld']:6.2f} ms an order (parsing its JSON "
          f"{parsing['jsonld']:.2f} ms)")
    for layout in ("RequestGroup", "Bundle"):
        extra = reading[layout] - reading["jsonld"]
        parse = parsing[layout] - parsing["jsonld"]
        conversion = extra - parse
        print(f"reading, FHIR {layout:12s}:  {reading[layout]:6.2f} ms an order, {extra:+.2f} ms: parsing the "
              f"larger JSON {parse:+.2f} ms, conversion {conversion:+.2f} ms "
              f"(target <= {TARGET_MS:.0f} ms: {'met' if conversion <= TARGET_MS else 'NOT met'})")
    base_time, base = _verdicts(pipeline, layouts["jsonld"])
    print(f"whole check, JSON-LD:        {base_time / count * 1000:6.2f} ms an order")
    for layout in ("RequestGroup", "Bundle"):
        elapsed, verdicts = _verdicts(pipeline, layouts[layout])
        same = sum(a == b for a, b in zip(base, verdicts))
        print(f"whole check, {layout:12s}:   {elapsed / count * 1000:6.2f} ms an order; "
              f"the same findings on {same} of {count}")


if __name__ == "__main__":
    main()
