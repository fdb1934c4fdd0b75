"""Speed, memory and scaling of protovalidate on the benchmark corpus, beside the pyshacl command.

    .venv/bin/python bench/bench_speed.py
    .venv/bin/python bench/bench_speed.py --orders 100 --baseline-files 1 --memory-copies 2   # a quick look

Builds the benchmark corpus (bench/corpus.py: 1,000 full-cycle orders, one
file each, default seed) in a temporary folder and measures, on that corpus:

1. batch throughput of the command: `protovalidate DIR` (one process) and
   `protovalidate --jobs 2 DIR`; wall time around the subprocess, report to a file;
2. the cold wall time of one `protovalidate` call on one order (interpreter
   start and knowledge-base loading included): best and median of 5;
3. peak memory (maximum resident set of the process, measured from a fresh
   parent with getrusage(RUSAGE_CHILDREN)) of one run over 10,000 orders
   (the corpus hard-linked 10 times into one folder);
4. the baseline: the `pyshacl` command per file, with the project's shapes
   and ontology merged into one Turtle file each and the order converted to
   Turtle (the JSON-LD names the project's context by URL, which pyshacl would
   fetch), on a sample of files; and `pyshacl.validate` in one process (shapes
   and ontology parsed once) per order;
5. how the cost grows: per order in process with 10, 100 and 1,000
   administrations; with the shipped knowledge base and with 91 regimens more; per order
   of the command for batches of 10, 100 and 1,000 orders.

Prints numbers beside the targets of the issue; asserts nothing. The numbers
depend on the machine and on what else runs on it (load average printed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

from chemo_protovalidate.check.knowledge import KnowledgeBase  # noqa: E402
from chemo_protovalidate.check.pipeline import Pipeline  # noqa: E402
from chemo_protovalidate.read.documents import read_document  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COMMAND = str(BIN / "protovalidate")
PYSHACL = str(BIN / "pyshacl")

TARGET_JOBS2 = 250          # orders/s with --jobs 2
TARGET_COLD = 0.4           # s, one order
TARGET_MEMORY = 200         # MB peak for 10,000 orders
TARGET_BASELINE = 300       # x faster than the pyshacl command per file


# --- Printing --------------------------------------------------------------------


def table(title: str, rows: list[tuple], header: tuple) -> None:
    rows = [tuple("" if c is None else str(c) for c in row) for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  " + "  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else "yes" if ok else "NO"


# --- Running the command -------------------------------------------------------------


def run(args: list[str], cwd: Path, out: Path | None = None) -> tuple[float, int, str]:
    """Wall time, exit status and the last line of standard error of one command. Run in the
    temporary folder, so that no pyproject.toml [tool.protovalidate] above the working folder
    changes the command's settings."""
    started = time.perf_counter()
    with open(out or os.devnull, "wb") as stdout:
        done = subprocess.run(args, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return seconds, done.returncode, lines[-1] if lines else ""


def has_jobs_option() -> bool:
    done = subprocess.run([COMMAND, "check", "--help"], capture_output=True, text=True)
    return "--jobs" in done.stdout


def peak_rss_mb(args: list[str], cwd: Path) -> tuple[float, float, int]:
    """Maximum resident set of a command, from a fresh parent (RUSAGE_CHILDREN
    there is that command's alone), its wall time and exit status."""
    probe = ("import resource, subprocess, sys, time\n"
             "t = time.perf_counter()\n"
             "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
             "print(r.returncode, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    done = subprocess.run([sys.executable, "-c", probe, *args], cwd=cwd, capture_output=True, text=True, check=True)
    status, seconds, kilobytes = done.stdout.split()
    return int(kilobytes) / 1024, float(seconds), int(status)


def link_files(files: list[Path], folder: Path, copies: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for copy in range(copies):
        for path in files:
            target = folder / (f"c{copy:02d}-{path.name}" if copies > 1 else path.name)
            try:
                os.link(path, target)
            except OSError:
                shutil.copyfile(path, target)
    return folder


# --- In process ------------------------------------------------------------------------


def per_order_ms(validator: Pipeline, items: list[tuple[str, bytes]], min_seconds: float = 1.0,
                 min_rounds: int = 1) -> tuple[float, int]:
    """Mean ms per order over whole passes through ``items`` (at least min_seconds), each pass
    one ``check_files`` call as the command makes it (the engine checks orders many at a time)."""
    rounds, orders, started = 0, 0, time.perf_counter()
    while rounds < min_rounds or time.perf_counter() - started < min_seconds:
        orders += sum(len(result.orders) for result in validator.check_files(items))
        rounds += 1
    return (time.perf_counter() - started) / orders * 1000, orders


SUPPORTIVE = [("aspirin", 100, "PO"), ("acetaminophen", 650, "PO"), ("diphenhydramine", 25, "IV"),
              ("montelukast", 10, "PO"), ("enoxaparin", 40, "SC")]


def wide_order(base: dict, administrations: int) -> bytes:
    """A well-formed order with ``administrations`` administrations: the base
    order's own, then supportive care (which may repeat) one day at a time."""
    order = json.loads(json.dumps(base))
    own = order["administrations"]
    extra = [{"agent": agent, "day": 1 + j % 28, "dose": {"value": value, "unit": "mg"}, "route": route}
             for j, (agent, value, route) in ((j, SUPPORTIVE[j % len(SUPPORTIVE)])
                                              for j in range(administrations - len(own)))]
    order["administrations"] = own + extra
    return json.dumps(order, indent=1).encode("utf-8")


def synthetic_regimens(folder: Path, count: int) -> Path:
    """``count`` renamed copies of the shipped regimen files (identifiers, regimen
    IRIs and component IRIs given a suffix), as a site's regimen directory."""
    folder.mkdir(parents=True, exist_ok=True)
    shipped = sorted((ROOT / "ontology" / "regimens").glob("*.ttl"))
    for n in range(count):
        path = shipped[n % len(shipped)]
        regimen, suffix = path.stem, f"-syn{n:03d}"
        text = path.read_text("utf-8")
        text = (text.replace(f"kb:regimen-{regimen} ", f"kb:regimen-{regimen}{suffix} ")
                    .replace(f'"{regimen}"', f'"{regimen}{suffix}"')
                    .replace(f"kb:{regimen}-", f"kb:{regimen}{suffix}-"))
        (folder / f"{regimen}{suffix}.ttl").write_text(text, "utf-8")
    return folder


# --- The baseline: pyshacl ---------------------------------------------------------------


def merged_turtle(paths: list[Path], target: Path):
    from rdflib import Graph

    graph = Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    graph.serialize(target, format="turtle")
    return graph


# --- Main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=corpus.DEFAULT_ORDERS, help="corpus size (default 1000)")
    parser.add_argument("--seed", default=corpus.DEFAULT_SEED)
    parser.add_argument("--jobs", type=int, default=2, help="processes for the --jobs run (default 2)")
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--memory-copies", type=int, default=10,
                        help="the corpus linked this many times into one folder for peak memory (default 10)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--baseline-files", type=int, default=3, help="files through the pyshacl command (default 3)")
    parser.add_argument("--baseline-orders", type=int, default=3,
                        help="orders through pyshacl.validate in process (default 3)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--growth-orders", type=int, default=100,
                        help="corpus orders timed in process against the shipped regimens and 91 more (default 100)")
    parser.add_argument("--skip-growth", action="store_true")
    args = parser.parse_args()

    version = subprocess.run([COMMAND, "--version"], capture_output=True, text=True).stdout.strip()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: nproc {affinity} (os.cpu_count {os.cpu_count()}), {platform.machine()}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"python {platform.python_version()} ({sys.executable}); {version}")

    with tempfile.TemporaryDirectory(prefix="protovalidate-bench-") as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        items, manifest = corpus.build(args.orders, args.seed)
        orders_dir = tmp / "orders"
        orders_dir.mkdir()
        for item in items:
            (orders_dir / item.name).write_bytes(item.data)
        (tmp / "corpus.json").write_bytes(corpus.manifest_bytes(manifest))   # beside, not among, the orders
        files = sorted(orders_dir.glob("*.jsonld"))
        n = len(files)
        print(f"corpus: {n} order files ({manifest['faulted']} with one fault), seed {args.seed!r}, "
              f"built in {time.perf_counter() - started:.1f} s")

        # 1. Batch throughput ---------------------------------------------------------------
        batch_s, status, summary = run([COMMAND, str(orders_dir)], tmp, tmp / "report-1.txt")
        print(f"  protovalidate DIR: exit {status} | {summary}")
        jobs_row: tuple
        if has_jobs_option():
            jobs_s, status, summary = run([COMMAND, "--jobs", str(args.jobs), str(orders_dir)], tmp,
                                          tmp / "report-jobs.txt")
            print(f"  protovalidate --jobs {args.jobs} DIR: exit {status} | {summary}")
            same = (tmp / "report-1.txt").read_bytes() == (tmp / "report-jobs.txt").read_bytes()
            print(f"  the --jobs {args.jobs} report is {'byte-identical to' if same else 'DIFFERENT from'} "
                  "the one-process report")
            jobs_rate = n / jobs_s
            jobs_row = (f"protovalidate --jobs {args.jobs} DIR", f"{jobs_s:.2f} s", f"{jobs_rate:.0f} orders/s",
                        f"{batch_s / jobs_s:.2f}x one process", f">= {TARGET_JOBS2} orders/s",
                        verdict(jobs_rate >= TARGET_JOBS2) if args.jobs == 2 else "n/a")
        else:
            jobs_row = (f"protovalidate --jobs {args.jobs} DIR", "n/a (no --jobs)", "n/a (no --jobs)", "",
                        f">= {TARGET_JOBS2} orders/s", "n/a")
        per_file_ms = batch_s / n * 1000
        rows = [("protovalidate DIR (one process)", f"{batch_s:.2f} s", f"{n / batch_s:.0f} orders/s",
                 f"{per_file_ms:.1f} ms/file", "", ""), jobs_row]

        # 2. Cold start ------------------------------------------------------------------------
        one = next(orders_dir / e["file"] for e in manifest["files"] if e["fault"] is None)
        colds = [run([COMMAND, str(one)], tmp)[0] for _ in range(args.cold_runs)]
        rows.append((f"one order, cold ({args.cold_runs} runs)", f"best {min(colds):.3f} s",
                     f"median {statistics.median(colds):.3f} s", "", f"<= {TARGET_COLD} s",
                     verdict(min(colds) <= TARGET_COLD)))

        # 3. Peak memory -----------------------------------------------------------------------
        if not args.skip_memory:
            many = link_files(files, tmp / "many", args.memory_copies)
            count = n * args.memory_copies
            peak, seconds, status = peak_rss_mb([COMMAND, str(many)], tmp)
            rows.append((f"peak memory, {count} orders in one folder", f"{peak:.0f} MB max RSS",
                         f"{count / seconds:.0f} orders/s", f"{seconds:.1f} s, exit {status}",
                         f"<= {TARGET_MEMORY} MB for 10000",
                         verdict(peak <= TARGET_MEMORY) if count >= 10_000 else "n/a (fewer orders)"))
            shutil.rmtree(many)
        table("The command on the corpus", rows, ("measure", "wall", "rate", "", "target", "meets"))

        # 4. Baseline ---------------------------------------------------------------------------
        if not args.skip_baseline:
            baseline(tmp, files, items, per_file_ms, args)

        # 5. Growth -----------------------------------------------------------------------------
        if not args.skip_growth:
            growth(tmp, files, items, manifest, batch_s, args)


def baseline(tmp: Path, files: list[Path], items, per_file_ms: float, args) -> None:
    """The pyshacl command per file, two ways, and pyshacl.validate in one process.

    As specified (`-e ONTOLOGY.ttl`), pyshacl does NOT see the regimens: it mixes only
    the ontology's class and property axioms into the data graph ("inoculation"), not
    the individuals (agents, regimens, dosings), so every agent is "unknown" and valid
    orders fail. The faithful baseline has the ontology merged into the data file, as
    the project's reference engine (PyshaclEngine) has it; the target is judged on
    that one. Each run's verdict (exit 0 or 1) is held to the corpus manifest.
    """
    import pyshacl
    from rdflib import Graph

    shapes_ttl, ontology_ttl = tmp / "shapes.ttl", tmp / "ontology.ttl"
    merged_turtle(sorted((ROOT / "shapes").glob("*.ttl")), shapes_ttl)
    ontology = merged_turtle(sorted((ROOT / "ontology").glob("*.ttl"))
                             + sorted((ROOT / "ontology" / "regimens").glob("*.ttl")), ontology_ttl)
    kb = KnowledgeBase.load()
    wanted = max(args.baseline_files, args.baseline_orders)
    valid = [i for i in items if i.entry["fault"] is None]
    faulted = [i for i in items if i.entry["fault"] is not None]
    sample = valid[:wanted] if wanted < 2 or not faulted else valid[: wanted - 1] + faulted[:1]
    graphs = []
    for item in sample:
        order = next(iter(read_document(item.name, item.data, kb.context).orders))
        graphs.append((item, order.graph))

    rows = []
    if args.baseline_files:
        for how in ("-e", "merged"):
            times, right = [], 0
            for item, graph in graphs[: args.baseline_files]:
                data_ttl = tmp / f"{item.name}.{how}.ttl"
                data = Graph()
                for triple in graph:
                    data.add(triple)
                if how == "merged":
                    data += ontology
                data.serialize(data_ttl, format="turtle")
                command = [PYSHACL, "-s", str(shapes_ttl), *(["-e", str(ontology_ttl)] if how == "-e" else []),
                           "-i", "rdfs", "-a", str(data_ttl)]
                seconds, status, _ = run(command, tmp)
                times.append(seconds)
                right += status == (0 if item.entry["fault"] is None else 1)
            mean = statistics.mean(times)
            ratio = mean * 1000 / per_file_ms
            label = ("pyshacl command, -e ONTOLOGY (as specified)" if how == "-e"
                     else "pyshacl command, ontology merged into DATA")
            rows.append((f"{label} ({len(times)} files)", f"{mean:.2f} s/file", f"{right}/{len(times)}",
                         f"{per_file_ms:.1f} ms/file", f"{ratio:.0f}x",
                         f">= {TARGET_BASELINE}x" if how == "merged" else "",
                         verdict(ratio >= TARGET_BASELINE) if how == "merged" else ""))
    if args.baseline_orders:
        shapes_graph, ont_graph = Graph().parse(shapes_ttl), Graph().parse(ontology_ttl)
        times, right = [], 0
        for item, graph in graphs[: args.baseline_orders]:
            started = time.perf_counter()
            data = Graph()
            for triple in ont_graph:
                data.add(triple)
            for triple in graph:
                data.add(triple)
            conforms, _, _ = pyshacl.validate(data, shacl_graph=shapes_graph, inference="rdfs", advanced=True)
            times.append(time.perf_counter() - started)
            right += conforms == (item.entry["fault"] is None)
        validator = Pipeline()
        ours_ms, _ = per_order_ms(validator, [(i.name, i.data) for i, _ in graphs[: args.baseline_orders]])
        mean_ms = statistics.mean(times) * 1000
        rows.append((f"pyshacl.validate in one process ({len(times)} orders)", f"{mean_ms / 1000:.2f} s/order",
                     f"{right}/{len(times)}", f"{per_file_ms:.1f} ms/file", f"{mean_ms / per_file_ms:.0f}x", "", ""))
        rows.append(("  ... against protovalidate in process, same orders", f"{mean_ms / 1000:.2f} s/order",
                     "", f"{ours_ms:.1f} ms/order", f"{mean_ms / ours_ms:.0f}x", "", ""))
    table("The baseline: pyshacl (shapes; ontology + regimens; RDFS inference; SHACL-AF) per order", rows,
          ("measure", "pyshacl", "verdicts right", "protovalidate (batch)", "ratio", "target", "meets"))
    print("  -e: pyshacl mixes only the ontology's axioms into the data, not the regimens' individuals: "
          "every agent is 'unknown', valid orders fail")


def growth(tmp: Path, files: list[Path], items, manifest, batch_s: float, args) -> None:
    # Administrations per order: a valid corpus order padded with supportive care.
    base = json.loads(next(i.data for i in items if i.entry["fault"] is None and i.entry["shape"]["administrations"] <= 10))
    validator = Pipeline(max_administrations=2000)
    rows = []
    for count in (10, 100, 1000):
        data = wide_order(base, count)
        findings = len(validator.check("wide.jsonld", data).all_findings())
        ms, _ = per_order_ms(validator, [("wide.jsonld", data)], min_seconds=1.0, min_rounds=3)
        rows.append((f"{count} administrations", f"{ms:.1f} ms/order", f"{ms / count:.3f} ms/administration",
                     f"{findings} findings"))
    table("Cost per order in process, by administrations (one order, supportive care added)", rows,
          ("order", "cost", "per administration", "check"))

    # Regimens in the knowledge base.
    sample = [(i.name, i.data) for i in items[: args.growth_orders]]
    started = time.perf_counter()
    shipped = Pipeline()
    shipped_load = time.perf_counter() - started
    site = synthetic_regimens(tmp / "regimens", 91)
    started = time.perf_counter()
    hundred = Pipeline(kb=KnowledgeBase.load(extra_regimen_dirs=(site,)))
    hundred_load = time.perf_counter() - started
    regimens = len(hundred.kb.regimen_ids())
    shipped_ms, _ = per_order_ms(shipped, sample)
    hundred_ms, _ = per_order_ms(hundred, sample)
    same = all(shipped.check(name, data).all_findings() == hundred.check(name, data).all_findings()
               for name, data in sample[:20])
    table(f"Cost per order in process, by regimens in the knowledge base ({len(sample)} corpus orders)", [
        (f"{len(shipped.kb.regimen_ids())} regimens (shipped)", f"{shipped_ms:.1f} ms/order", f"{shipped_load:.2f} s", "1.00x"),
        (f"{regimens} regimens (91 renamed copies)", f"{hundred_ms:.1f} ms/order", f"{hundred_load:.2f} s",
         f"{hundred_ms / shipped_ms:.2f}x"),
    ], ("knowledge base", "cost", "load", "ratio"))
    print(f"  same findings with the shipped and with {regimens} regimens on the first 20 orders: {'yes' if same else 'NO'}")

    # Batch size, through the command (interpreter start and loading shared by the batch).
    rows = []
    for size in (10, 100, 1000):
        if size > len(files):
            rows.append((f"{size} orders", "n/a (corpus smaller)", "", ""))
            continue
        if size == len(files):
            seconds = batch_s                       # the one-process run above, same corpus
            note = "the run above"
        else:
            folder = link_files(files[:size], tmp / f"batch-{size}")
            seconds, _, _ = run([COMMAND, str(folder)], tmp)
            note = ""
        rows.append((f"{size} orders", f"{seconds:.2f} s", f"{seconds / size * 1000:.1f} ms/order", note))
    table("Cost per order of one command, by batch size", rows, ("batch", "wall", "per order", ""))


if __name__ == "__main__":
    main()
