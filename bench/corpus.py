"""A benchmark corpus: N full-cycle order files, reproducible from a seed.

    .venv/bin/python bench/corpus.py --out DIR [--orders 1000] [--seed protovalidate-corpus-1]

Writes DIR/order-00001.jsonld ... (one order per file, exactly the order
format of order-format.md) and DIR/corpus.json, the manifest: per file its
regimen, cycle, patient, the shape of the order (how doses are written, the
units, ...) and ``fault``: null, or the fault kind, what was changed, the rule
book's reading of it and the rule ids that must fire.

Every order is a whole cycle: each administration the protocol lists for that
cycle (all nine regimens; cycles 1, 2 and later, daratumumab's cycle 1-2, 3-6
and >= 7 schedules) with its supportive care (hydration on cycle 1
carfilzomib days, VTE prophylaxis with lenalidomide, premedication on
daratumumab and isatuximab days), for a patient drawn at random (40-160 kg,
140-205 cm, sometimes `bsa` given, sometimes lb/in or g/m, sometimes the
creatinine clearance with lenalidomide's renal band, labs at or above the
hold thresholds) and the amounts computed for that patient. About one order
in ten carries exactly one fault, made by one of the seven mutation kinds of
tests/mutants.py.

The manifest is JSON, and `protovalidate DIR` reads every .json file as an
order: check the corpus as `protovalidate "DIR/*.jsonld"` (bench_speed.py
keeps the manifest outside the folder it checks).

The same seed and N give the same bytes: every random draw comes from
``random.Random`` seeded with a string, and nothing depends on the clock,
the file system or hash order.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The rule book (protocols.md) is read ONCE, in tests/mutants.py: its
# schedules, levels, BSA cap and the oracle ``order_faults`` that the mutant
# test trusts. The corpus computes its doses and makes its faults with that
# same reading rather than a second one, so that the two cannot drift apart
# (a second reading would need its own guard tests to be believed).
sys.path.insert(0, str(ROOT / "tests"))
import mutants as M  # noqa: E402

DEFAULT_SEED = "protovalidate-corpus-1"
DEFAULT_ORDERS = 1000
CONTEXT = "https://w3id.org/protovalidate/context/v1.jsonld"
REGIMEN_IDS = ("D-KRd", "KRd", "Isa-KRd", "KdD", "Kd-weekly-70", "Kd-weekly-56",
               "Kd-twice-weekly-56", "KCyD", "Isa-Kd")
FAULT_SHARE = 10          # one order in FAULT_SHARE carries a fault
D_KRD_INDUCTION = 8       # D-KRd beyond cycle 8 is a warning: the valid corpus stays clean

# The rule that must fire for each mutation kind. Where the administration
# keeps its doseLevel, a wrong amount is judged against that level
# (dose-amount-mismatch); without one the level is derived from the amount
# and is above the protocol's (dose-level-above-protocol).
KIND_RULES = {
    "level-up": ["dose-level-above-protocol"],
    "day-off-schedule": ["off-schedule"],
    "agent-swapped": ["agent-not-in-regimen"],
    "route-changed": ["route-not-allowed"],
    "priming-skipped": ["dose-level-above-protocol"],
}


@dataclass
class Item:
    name: str
    data: bytes
    entry: dict


# --- Patients ------------------------------------------------------------------


def make_patient(rng: random.Random, index: int, regimen: str, heavy: bool) -> tuple[dict, dict]:
    """A patient dict as the order writes it, and notes for the manifest.
    ``heavy``: a BSA well above the carfilzomib cap (for the bsa-cap-ignored fault)."""
    has_lenalidomide = "lenalidomide" in M.REGIMENS[regimen][1]
    while True:
        height = rng.uniform(140, 205)
        bmi = rng.uniform(30, 45) if heavy else rng.uniform(16, 40)
        weight = min(max(bmi * (height / 100) ** 2, 40.0), 160.0)
        weight, height = round(weight, rng.choice((0, 1))), round(height)
        if not heavy or math.sqrt(weight * height / 3600) > M.BSA_CAP * (1 + M.TOLERANCE) + 0.03:
            break
    notes = {}
    patient = {"@id": f"urn:bench:patient:{index:05d}"}
    if rng.random() < 0.9:
        patient["age"] = rng.randint(35, 88)
    units = rng.choices(("kg/cm", "lb/in", "g/m"), weights=(80, 15, 5))[0]
    notes["units"] = units
    if units == "kg/cm":
        patient["weight"] = {"value": weight, "unit": "kg"}
        height_q = {"value": height, "unit": "cm"}
    elif units == "lb/in":
        patient["weight"] = {"value": round(weight / M.TO_KG["[lb_av]"], 1), "unit": "[lb_av]"}
        height_q = {"value": round(height / M.TO_CM["[in_i]"], rng.choice((0, 1))), "unit": "[in_i]"}
    else:
        patient["weight"] = {"value": round(weight * 1000), "unit": "g"}
        height_q = {"value": round(height / 100, 2), "unit": "m"}
    bsa_given = rng.random() < 0.2
    notes["bsa_given"] = bsa_given
    if bsa_given:
        w, h = M.weight_kg(patient), height_q["value"] * M.TO_CM[height_q["unit"]]
        if rng.random() < 0.7:
            patient["height"] = height_q
        patient["bsa"] = {"value": round(math.sqrt(w * h / 3600), 2), "unit": "m2"}
    else:
        patient["height"] = height_q
    if rng.random() < (0.75 if has_lenalidomide else 0.4):
        crcl = rng.choices((rng.randint(60, 130), rng.randint(30, 59), rng.randint(15, 29), 30, 60),
                           weights=(65, 20, 9, 3, 3))[0]
        patient["creatinineClearance"] = {"value": crcl, "unit": "mL/min"}
    if rng.random() < 0.6:
        # At or above every hold threshold (lenalidomide's are the higher ones), now and then exactly on it.
        low_anc, low_plt = (1.0, 30) if has_lenalidomide else (0.5, 10)
        anc = low_anc if rng.random() < 0.1 else round(rng.uniform(low_anc, 6.5), 1)
        plt = low_plt if rng.random() < 0.1 else rng.randint(low_plt, 420)
        patient["neutrophils"] = {"value": anc, "unit": "10*9/L"}
        patient["platelets"] = {"value": plt, "unit": "10*9/L"}
    return patient, notes


# --- Administrations -------------------------------------------------------------


def quantity(value, unit: str) -> dict:
    return {"value": value, "unit": unit}


def amount(rng: random.Random, exact: float, step: float) -> float:
    """An amount as a pharmacy writes it: rounded to ``step`` mg (0.1 when that
    would move it more than 2.5 %; the tolerance is 5 %)."""
    for s in (step, 0.1):
        value = round(round(exact / s) * s, 1)
        if abs(value - exact) <= 0.025 * exact:
            return int(value) if float(value).is_integer() and s >= 1 else value
    return round(exact, 2)


def set_days(admin: dict, days: list[int], rng: random.Random) -> dict:
    if len(days) == 1 and rng.random() < 0.7:
        admin["day"] = days[0]
    else:
        admin["days"] = list(days)
    return admin


class OrderBuilder:
    def __init__(self, rng: random.Random, regimen: str, cycle: int, patient: dict, style: str):
        self.rng, self.regimen, self.cycle, self.patient, self.style = rng, regimen, cycle, patient, style
        self.one_day_each = rng.random() < 0.12   # each regimen agent's days as single-day administrations
        self.admins: list[dict] = []
        self.notes: dict = {}
        self.crcl = None if "creatinineClearance" not in patient else patient["creatinineClearance"]["value"]

    def with_level(self, flat: bool) -> bool:
        if self.style == "dose-only":
            return False
        if self.style == "level+dose":
            return not flat or self.rng.random() < 0.3
        return self.rng.random() < 0.5                     # mixed

    def regimen_agent(self, agent: str, days: list[int], level: float, unit: str, route: str,
                      step: float, extra: dict | None = None) -> None:
        flat = unit == "mg"
        basis = M.basis(agent, unit, self.patient)
        dose = level if flat else amount(self.rng, level * basis, step)
        groups = [[d] for d in days] if self.one_day_each else [days]
        for group in groups:
            admin = {"agent": agent}
            set_days(admin, group, self.rng)
            if self.with_level(flat):
                admin["doseLevel"] = quantity(level, unit)
            admin["dose"] = quantity(dose, "mg")
            admin["route"] = route
            admin.update(extra or {})
            self.admins.append(admin)

    def supportive(self, agent: str, days: list[int], value: float, unit: str, route: str) -> None:
        if days:
            self.admins.append(set_days({"agent": agent}, sorted(days), self.rng)
                               | {"dose": quantity(value, unit), "route": route})

    def build(self) -> list[dict]:
        rng, regimen, cycle = self.rng, self.regimen, self.cycle
        (twice, (lo, hi)), agents = M.REGIMENS[regimen]
        # Carfilzomib: priming (cycle 1) and the escalated level.
        k_days = [1, 2, 8, 9, 15, 16] if twice else [1, 8, 15]
        priming = ([1, 2] if twice else [1]) if cycle == 1 else []
        level = hi if lo == hi else rng.choice((lo, 45, hi, hi))
        self.notes["carfilzomib_level"] = level
        infusion = rng.choices(({"infusionDuration": quantity(30, "min")}, {"infusionDuration": quantity(0.5, "h")},
                                {"infusionDuration": quantity(60, "min")}, {}), weights=(70, 10, 5, 15))[0]
        if priming:
            self.regimen_agent("carfilzomib", priming, 20, "mg/m2", "IV", rng.choice((0.1, 1)), infusion)
        self.regimen_agent("carfilzomib", [d for d in k_days if d not in priming], level, "mg/m2", "IV",
                           rng.choice((0.1, 1)), infusion)
        hydration_days = k_days if cycle == 1 or rng.random() < 0.15 else []
        self.supportive("sodium-chloride-0.9", hydration_days, rng.choice((250, 250, 500, 500, 300)), "mL", "IV")

        antibody_days: list[int] = []
        if "daratumumab" in agents:
            days = [1, 8, 15, 22] if cycle <= 2 else [1, 15] if cycle <= 6 else [1]
            route = "SC" if rng.random() < 0.3 else "IV"
            self.notes["daratumumab"] = route
            if route == "SC":
                self.regimen_agent("daratumumab", days, 1800, "mg", "SC", 1)
            elif cycle == 1 and rng.random() < 0.35:
                self.notes["daratumumab"] = "IV split first dose"
                self.regimen_agent("daratumumab", [1, 2], 8, "mg/kg", "IV", rng.choice((1, 10)))
                self.regimen_agent("daratumumab", days[1:], 16, "mg/kg", "IV", rng.choice((1, 10)))
                days = [1, 2] + days[1:]
            else:
                self.regimen_agent("daratumumab", days, 16, "mg/kg", "IV", rng.choice((1, 10)))
            antibody_days = days
        if "isatuximab" in agents:
            days = [1, 8, 15, 22] if cycle == 1 else [1, 15]
            self.regimen_agent("isatuximab", days, 10, "mg/kg", "IV", rng.choice((1, 10)))
            antibody_days = days
        if "lenalidomide" in agents:
            crcl = self.crcl
            if crcl is not None and crcl < 30:
                band, days = 15, list(range(1, 22, 2))
            else:
                band, days = (10 if crcl is not None and crcl < 60 else 25), list(range(1, 22))
            self.notes["lenalidomide"] = band
            self.regimen_agent("lenalidomide", days, band, "mg", "PO", 1)
            if rng.random() < 0.7:
                self.supportive("aspirin", list(range(1, 29)), rng.choice((81, 100)), "mg", "PO")
            else:
                self.supportive("enoxaparin", list(range(1, 29)), 40, "mg", "SC")
        if "cyclophosphamide" in agents:
            self.regimen_agent("cyclophosphamide", [1, 8, 15], 300, "mg/m2", rng.choice(("PO", "IV")),
                               rng.choice((1, 10)))
        # Dexamethasone: Isa-Kd exactly 20 mg twice weekly; else 20-40 mg weekly (20 above age 75).
        if regimen == "Isa-Kd":
            dex_days, dex = [1, 2, 8, 9, 15, 16, 22, 23], 20
        else:
            old = self.patient.get("age", 0) > 75
            dex_days, dex = [1, 8, 15, 22], 20 if old else rng.choice((40, 40, 40, 20, 30))
        self.regimen_agent("dexamethasone", dex_days, dex, "mg", rng.choice(("PO", "PO", "PO", "IV")), 1)
        if antibody_days:
            acetaminophen = rng.choice(((650, "PO"), (1000, "PO"), (1000, "IV")))
            self.supportive("acetaminophen", antibody_days, *acetaminophen[:1], "mg", acetaminophen[1])
            self.supportive("diphenhydramine", antibody_days, rng.choice((25, 50)), "mg", rng.choice(("PO", "IV")))
            if cycle == 1 and rng.random() < 0.5:
                self.supportive("montelukast", [1], 10, "mg", "PO")
        return self.admins


# --- Faults ------------------------------------------------------------------------


def fault_rules(kind: str, facet: str, change: str, original: dict) -> list[str]:
    if kind in KIND_RULES:
        return list(KIND_RULES[kind])
    # amount-over and bsa-cap-ignored: does the changed administration still state its level?
    if "keep-level" in facet:
        keeps_level = True
    elif "drop-level" in facet or "dose-only" in facet:
        keeps_level = False
    else:                                  # "patient made heavy": the administration as it was
        index = int(change.split("#", 1)[1].split()[0])
        keeps_level = "doseLevel" in original["administrations"][index]
    return ["dose-amount-mismatch" if keeps_level else "dose-level-above-protocol"]


def inject_fault(rng: random.Random, name: str, order: dict, kind: str) -> tuple[dict, dict] | None:
    """One mutation of ``kind`` (tests/mutants.py) that the rule book calls a fault, or None."""
    generator = M.Generator(M.Source(name, order), 0)
    candidates = list(getattr(generator, kind.replace("-", "_"))())
    rng.shuffle(candidates)
    for facet, change, mutate in candidates:
        try:
            mutant = generator.mutant(kind, facet, change, mutate)
        except (KeyError, AssertionError):
            # mutants.py was written for the example orders, where every priming
            # dose and every per-kg antibody states its doseLevel; a mutation that
            # needs one the corpus order left out is skipped.
            continue
        if mutant is not None:
            return M.orders_of(mutant.document)[0], {
                "kind": kind, "facet": facet, "change": change,
                "rules": fault_rules(kind, facet, change, order), "rule_book": mutant.faults}
    return None


# --- The corpus ------------------------------------------------------------------------


def cycle_for(rng: random.Random, regimen: str) -> int:
    bucket = rng.choices(("1", "2", "3-6", "7+"), weights=(30, 20, 28, 22))[0]
    if bucket in ("1", "2"):
        return int(bucket)
    if bucket == "3-6":
        return rng.randint(3, 6)
    return rng.randint(7, D_KRD_INDUCTION if regimen == "D-KRd" else 18)


def slots(orders: int, seed: str) -> list[tuple[str, str | None]]:
    """(regimen, fault kind or None) for each file: regimens and fault kinds
    dealt round-robin (the faulted orders go through every regimen x kind pair
    within 63 faults), then shuffled."""
    faulted = round(orders / FAULT_SHARE)
    out = [(REGIMEN_IDS[j % len(REGIMEN_IDS)], M.KINDS[j % len(M.KINDS)]) for j in range(faulted)]
    out += [(REGIMEN_IDS[j % len(REGIMEN_IDS)], None) for j in range(orders - faulted)]
    random.Random(f"{seed}#slots").shuffle(out)
    return out


def make_order(seed: str, index: int, regimen: str, kind: str | None) -> tuple[dict, dict]:
    name = f"order-{index:05d}.jsonld"
    for attempt in range(50):
        rng = random.Random(f"{seed}#order#{index}#{attempt}")
        cycle = 1 if kind == "priming-skipped" else cycle_for(rng, regimen)
        patient, patient_notes = make_patient(rng, index, regimen, heavy=kind == "bsa-cap-ignored")
        style = rng.choices(("level+dose", "dose-only", "mixed"), weights=(55, 20, 25))[0]
        builder = OrderBuilder(rng, regimen, cycle, patient, style)
        order = {"@context": CONTEXT, "@id": f"urn:bench:order:{index:05d}", "@type": "ChemotherapyOrder",
                 "regimen": regimen, "cycle": cycle, "patient": patient, "administrations": builder.build()}
        faults = M.order_faults(order)
        if faults:
            raise AssertionError(f"corpus generator made a faulty valid order {name}: {faults}")
        entry = {"file": name, "order": order["@id"], "regimen": regimen, "cycle": cycle,
                 "patient": {**patient, "bsa_m2": round(M.bsa(patient), 4), "weight_kg": round(M.weight_kg(patient), 3)},
                 "shape": {"doses": style, "one_day_each": builder.one_day_each, **patient_notes, **builder.notes,
                           "administrations": len(order["administrations"])},
                 "fault": None}
        if kind is None:
            return order, entry
        faulted = inject_fault(rng, name, order, kind)
        if faulted is not None:
            order, entry["fault"] = faulted
            entry["shape"]["administrations"] = len(order["administrations"])
            return order, entry
    raise AssertionError(f"no {kind} fault found for {regimen} in 50 orders")


def render(order: dict) -> str:
    """The order as a person would lay it out: one administration a line."""
    lines = ["{"]
    keys = list(order)
    for n, key in enumerate(keys):
        end = "," if n < len(keys) - 1 else ""
        value = order[key]
        if key == "patient":
            inner = [f'    {json.dumps(k)}: {json.dumps(v)}' for k, v in value.items()]
            lines.append('  "patient": {\n' + ",\n".join(inner) + f"\n  }}{end}")
        elif key == "administrations":
            inner = [f"    {json.dumps(a)}" for a in value]
            lines.append('  "administrations": [\n' + ",\n".join(inner) + f"\n  ]{end}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{end}")
    return "\n".join(lines) + "\n}\n"


def build(orders: int = DEFAULT_ORDERS, seed: str = DEFAULT_SEED) -> tuple[list[Item], dict]:
    """The corpus in memory: the files (name, bytes, manifest entry) and the manifest."""
    items = []
    for index, (regimen, kind) in enumerate(slots(orders, seed), start=1):
        order, entry = make_order(seed, index, regimen, kind)
        items.append(Item(entry["file"], render(order).encode("utf-8"), entry))
    manifest = {
        "generator": "bench/corpus.py", "seed": seed, "orders": orders,
        "faulted": sum(1 for i in items if i.entry["fault"]),
        "files": [i.entry for i in items],
    }
    return items, manifest


def manifest_bytes(manifest: dict) -> bytes:
    """The manifest as JSON, one file's entry a line."""
    head = [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in manifest.items() if k != "files"]
    files = ",\n".join(f"    {json.dumps(entry)}" for entry in manifest["files"])
    return ("{\n" + "\n".join(head) + '\n  "files": [\n' + files + "\n  ]\n}\n").encode("utf-8")


def write(out: Path, orders: int = DEFAULT_ORDERS, seed: str = DEFAULT_SEED) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    items, manifest = build(orders, seed)
    for item in items:
        (out / item.name).write_bytes(item.data)
    (out / "corpus.json").write_bytes(manifest_bytes(manifest))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="directory to write the corpus into")
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="how many order files (default 1000)")
    parser.add_argument("--seed", default=DEFAULT_SEED, help=f"any string (default {DEFAULT_SEED})")
    args = parser.parse_args()
    manifest = write(args.out, args.orders, args.seed)
    kinds: dict[str, int] = {}
    for entry in manifest["files"]:
        if entry["fault"]:
            kinds[entry["fault"]["kind"]] = kinds.get(entry["fault"]["kind"], 0) + 1
    print(f"{manifest['orders']} orders in {args.out} (seed {args.seed!r}), {manifest['faulted']} with one fault: "
          + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
