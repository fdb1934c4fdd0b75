"""The FHIR converter's cost in instructions, for A/B runs where wall time is too noisy to tell (docs/fhir.md).

callgrind counts instructions, not seconds: the same code gives the same count however busy or slow the machine
is, where the same code's milliseconds have varied by up to 2.3 times from one run of bench_fhir.py to the next.
Fix the hash seed: set iteration, and with it the count, varies by some 1.5 % from one seed to another. The
count of one run is the converter's plus everything else the process does, so the script is run twice under
callgrind, converting and not, and the difference is the converter's:

    .venv/bin/python bench/fhir_instructions.py write /tmp/fhir-corpus            # natively, once
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/fhir_instructions.py convert /tmp/fhir-corpus RequestGroup 200
    PYTHONHASHSEED=0 valgrind ... .venv/bin/python bench/fhir_instructions.py read /tmp/fhir-corpus RequestGroup 200
    # (the first count - the second) / 200 = instructions an order in interface.convert

``document`` reads each file as bench_fhir.py does (read_document, then each order's triples: the conversion, the
places, the garbage collector's work, the orders' RDF), of a FHIR layout or of ``jsonld``, the same orders as
JSON-LD; ``parse`` only parses each, as bench_fhir.py does. The conversion as bench_fhir.py reckons it, in
instructions, is then (the knowledge base that ``document`` loads is in both of its runs: it cancels)

    ((document L) - (parse L) - (document jsonld) + (parse jsonld)) / 200

Each run under callgrind takes some 30 to 60 s.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYOUTS = ("RequestGroup", "Bundle")
JSONLD = "jsonld"


def write(folder: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    sys.path.insert(0, str(ROOT / "tests"))
    import corpus
    import fhir_writer

    folder.mkdir(parents=True, exist_ok=True)
    items = corpus.build(1000, corpus.DEFAULT_SEED)[0]
    for layout, writer in zip(LAYOUTS, (fhir_writer.request_group, fhir_writer.bundle)):
        documents = [w.document for w in (writer(json.loads(item.data)) for item in items) if w.document is not None]
        (folder / f"{layout}.json").write_text(json.dumps(documents), "utf-8")
        print(f"{folder / f'{layout}.json'}: {len(documents)} documents")
    # The JSON-LD orders that both layouts write, as bench_fhir.py compares them.
    both = [item.data.decode("utf-8") for item in items
            if all(writer(json.loads(item.data)).document is not None
                   for writer in (fhir_writer.request_group, fhir_writer.bundle))]
    (folder / f"{JSONLD}.json").write_text(json.dumps(both), "utf-8")
    print(f"{folder / f'{JSONLD}.json'}: {len(both)} orders")


def _texts(folder: Path, layout: str, count: int) -> list[str]:
    documents = json.loads((folder / f"{layout}.json").read_text("utf-8"))[:count]
    return documents if layout == JSONLD else [json.dumps(document) for document in documents]


def run(folder: Path, layout: str, count: int, step: str) -> None:
    if step == "document":
        _read_documents(_texts(folder, layout, count), layout)
    elif step == "parse":
        _parse(_texts(folder, layout, count))
    else:
        _convert(folder, layout, count, step == "convert")


def _read_documents(texts: list[str], layout: str) -> None:
    """As bench_fhir.py reads: read_document, then each order's triples."""
    from chemo_protovalidate.check.pipeline import Pipeline
    from chemo_protovalidate.read.documents import read_document

    importlib.import_module("chemo_protovalidate.read.fhir_document")  # in every document run alike
    pipeline = Pipeline(administrations=False)
    name = "order.jsonld" if layout == JSONLD else "order.json"
    for text in texts:
        for order in read_document(name, text.encode(), pipeline.kb.context, pipeline.max_administrations).orders:
            order.triples  # noqa: B018  (the orders are made as they are gone through)


def _parse(texts: list[str]) -> None:
    """As bench_fhir.py parses: each value let go at once."""
    from chemo_protovalidate.read.jsonld import load_json

    for text in texts:
        load_json(text)


def _convert(folder: Path, layout: str, count: int, convert: bool) -> None:
    """interface.convert alone, as the counts of bench/README.md were taken (the parsed documents kept alive)."""
    from chemo_protovalidate.read.fhir import convert as _  # noqa: F401  (imported in both runs alike)
    from chemo_protovalidate.read.fhir import interface
    from chemo_protovalidate.read.jsonld import load_json

    documents = json.loads((folder / f"{layout}.json").read_text("utf-8"))[:count]
    values = [load_json(json.dumps(document))[0] for document in documents]
    if convert:
        for value in values:
            interface.convert(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["write", "convert", "read", "document", "parse"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("layout", nargs="?", choices=[*LAYOUTS, JSONLD], default="RequestGroup")
    parser.add_argument("count", nargs="?", type=int, default=200)
    args = parser.parse_args()
    if args.step == "write":
        write(args.folder)
    else:
        run(args.folder, args.layout, args.count, args.step)


if __name__ == "__main__":
    main()
