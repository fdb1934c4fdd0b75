"""A benchmark corpus: N full-cycle order files, reproducible from a seed (rule book v2).

    .venv/bin/python bench/corpus.py --out DIR [--orders 1000] [--seed protovalidate-corpus-1]

Writes DIR/order-00001.jsonld ... (one order per file, exactly the order
format of order-format.md) and DIR/corpus.json, the manifest: per file its
regimen, cycle, patient, the shape of the order (how doses are written, the
units, the dexamethasone scheme, ...) and ``fault``: null, or the fault kind,
what was changed, and what the rule book gives for it (``rules``: the rule
ids; ``expected``: each with its severity; ``violation``: whether one is an
error; ``rule_book``: the reading in words).

Every order is a whole cycle of one of the eleven regimens, complete by rule
book v2, so that a fault-free order gives no finding at all, not even a
warning or information: each administration the protocol lists for that
cycle (carfilzomib's priming days in cycle 1, KRd-27's cycles 13-18 without
days 8 and 9, daratumumab's cycle 1-2, 3-6 and >= 7 schedules and its split
first dose, the lenalidomide renal band including dialysis, dexamethasone
only on the regimen's allowed days, 20-40 mg a dose and at most 40 mg a week,
20 mg a week above age 75, in every week that holds an allowed clinic day,
with a premedication dose of at most 8 mg on the other cycle-1 carfilzomib
days), and its supportive care (hydration on cycle-1 carfilzomib days, VTE
prophylaxis with lenalidomide, corticosteroid, acetaminophen, an H1
antihistamine and for isatuximab famotidine on every anti-CD38 day, an
antiviral in every order), for a patient drawn at random (40-160 kg, 140-205
cm, sometimes `bsa` given, sometimes lb/in or g/m, sometimes a dose basis a
few per cent from the current weight, sometimes the creatinine clearance,
dialysis, labs at or above the cycle-start counts) and the amounts computed
for that patient. About one order in ten carries exactly one fault, made by
a mutation kind of tests/mutants.py (every kind but patient-conflict, which
needs two orders in one file).

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

# The rule book is read ONCE, in tests/mutants.py: its schedules, levels, BSA cap and the oracle
# ``findings`` that the mutant test trusts. The corpus computes its doses and makes its faults with
# that same reading rather than a second one, so that the two cannot drift apart (a second reading
# would need its own guard tests to be believed); each order the corpus writes is checked against
# that reading as it is made.
sys.path.insert(0, str(ROOT / "tests"))
import mutants as M  # noqa: E402

DEFAULT_SEED = "protovalidate-corpus-1"
DEFAULT_ORDERS = 1000
CONTEXT = "https://w3id.org/protovalidate/context/v1.jsonld"
REGIMEN_IDS = ("D-KRd", "KRd", "KRd-27", "Isa-KRd", "KdD", "KdD-weekly-70", "Kd-weekly-70", "Kd-weekly-56",
               "Kd-twice-weekly-56", "KCyD", "Isa-Kd")
FAULT_SHARE = 0.1         # one order in ten carries a fault
D_KRD_INDUCTION = 8       # D-KRd beyond cycle 8 is a warning: the valid corpus stays clean
KRD27_CYCLES = 18         # KRd-27 carfilzomib after cycle 18 is a warning: the valid corpus stays clean
# Every mutation kind but patient-conflict (it needs two orders of one patient in one file).
CORPUS_KINDS = tuple(k for k in M.KINDS if k != "patient-conflict")


def applies(kind: str, regimen: str, rule: str | None = None) -> bool:
    """Whether a kind can make a fault (drawing ``rule``, when given) in a corpus order of that regimen."""
    agents = M.REGIMENS[regimen].agents
    if kind in ("split-dose", "level-between"):
        return "daratumumab" in agents
    if kind == "level-reduced" and rule == "dose-level-below-protocol":
        return bool(agents & M.NEVER_REDUCED)
    if kind in ("dialysis", "renal-band", "vte-dropped"):
        return "lenalidomide" in agents
    if kind == "premedication-dropped":
        return bool(agents & M.ANTI_CD38)
    if kind == "cycle-beyond":
        return regimen == {"beyond-induction-cycles": "D-KRd", "beyond-labelled-duration": "KRd-27"}.get(
            rule, regimen) and regimen in ("D-KRd", "KRd-27")
    if kind == "dex-weekly-total":
        return regimen not in ("Kd-weekly-70", "Kd-weekly-56", "Isa-Kd")
    return True


def fault_targets() -> list[tuple[str, str]]:
    """(kind, rule) for every rule each corpus kind is made to produce: each kind's first rule, then
    each kind's second, ... so that a corpus with fewer faults than pairs still has every kind."""
    rules = {kind: sorted(M.KIND_RULES[kind]) for kind in CORPUS_KINDS}
    return [(kind, rules[kind][r]) for r in range(max(map(len, rules.values())))
            for kind in CORPUS_KINDS if r < len(rules[kind])]


CYCLE_1_KINDS = {"priming-skipped", "priming-dropped", "priming-not-in-order", "split-dose", "level-between",
                 "hydration-dropped", "carfilzomib-premedication-dropped"}
# A patient on dialysis, for the one fault that needs one (dialysis set back to false, 5 mg kept).
DIALYSIS_TARGETS = {("dialysis", "dose-level-below-protocol")}


@dataclass
class Item:
    name: str
    data: bytes
    entry: dict


# --- Patients ------------------------------------------------------------------


def make_patient(rng: random.Random, index: int, regimen: str, heavy: bool,
                 dialysis: bool = False) -> tuple[dict, dict]:
    """A patient dict as the order writes it, and notes for the manifest.
    ``heavy``: a BSA well above the carfilzomib cap (for the bsa-cap-ignored fault)."""
    has_lenalidomide = "lenalidomide" in M.REGIMENS[regimen].agents
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
        # Isa-Kd's dexamethasone is exactly 20 mg twice a week: 40 mg a week, which is more than a
        # patient older than 75 may have without a warning (rule book 5.2, Q4): its patients are 75 or younger.
        patient["age"] = rng.randint(35, 75 if regimen == "Isa-Kd" else 88)
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
    notes["dialysis"] = False
    if has_lenalidomide and (dialysis or rng.random() < 0.06):
        # Dialysis: the 5 mg band (rule book 5.1); a CrCl, when given, under 30.
        patient["dialysis"] = True
        notes["dialysis"] = True
        if rng.random() < 0.5:
            patient["creatinineClearance"] = {"value": rng.randint(5, 29), "unit": "mL/min"}
    elif rng.random() < (0.75 if has_lenalidomide else 0.4):
        crcl = rng.choices((rng.randint(60, 130), rng.randint(30, 59), rng.randint(15, 29), 30, 60),
                           weights=(65, 20, 9, 3, 3))[0]
        patient["creatinineClearance"] = {"value": crcl, "unit": "mL/min"}
        if rng.random() < 0.05:
            patient["dialysis"] = False
    if rng.random() < 0.6:
        # At or above the counts to start a cycle (neutrophils 1.0, platelets 50: rule book 5.1; above
        # every hold threshold), now and then exactly on them.
        anc = M.START_COUNTS[0] if rng.random() < 0.1 else round(rng.uniform(M.START_COUNTS[0], 6.5), 1)
        plt = M.START_COUNTS[1] if rng.random() < 0.1 else rng.randint(M.START_COUNTS[1], 420)
        patient["neutrophils"] = {"value": anc, "unit": "10*9/L"}
        patient["platelets"] = {"value": plt, "unit": "10*9/L"}
    notes["dose_basis"] = False
    if not heavy and "height" in patient and rng.random() < 0.1:
        # Doses calculated on an earlier weight, a few per cent from today's (under every weight-change
        # threshold of rule book 2.2), with its Mosteller BSA.
        current = M.weight_kg(patient)
        basis_kg = round(current * rng.uniform(0.93, 1.07), 1)
        h = M.height_cm(patient)
        patient["doseBasis"] = {"weight": {"value": basis_kg, "unit": "kg"},
                                "bsa": {"value": round(M.mosteller(h, basis_kg), 2), "unit": "m2"}}
        notes["dose_basis"] = True
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
        self.crcl = M.value_of(patient.get("creatinineClearance"))

    def with_level(self, flat: bool) -> bool:
        if self.style == "dose-only":
            return False
        if self.style == "level+dose":
            return not flat or self.rng.random() < 0.3
        return self.rng.random() < 0.5                     # mixed

    def regimen_agent(self, agent: str, days: list[int], level: float, unit: str, route: str,
                      step: float, extra: dict | None = None, always_level: bool = False) -> None:
        flat = unit == "mg"
        basis = M.basis(agent, unit, self.patient)
        dose = level if flat else amount(self.rng, level * basis, step)
        groups = [[d] for d in days] if self.one_day_each else [days]
        for group in groups:
            admin = {"agent": agent}
            set_days(admin, group, self.rng)
            if always_level or self.with_level(flat):
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
        reg = M.REGIMENS[regimen]
        s, agents = reg.schedule, reg.agents
        # Carfilzomib: priming (cycle 1) and the target level (rule book 3.3, 4.1).
        k = [x for x in M.dosings(regimen, cycle, self.patient) if x.agent == "carfilzomib"]
        priming = sorted(next((x.days for x in k if x.priming), ()))
        k_days = sorted(d for x in k for d in x.days)
        level = s.hi if s.lo == s.hi else rng.choice((s.lo, 45, s.hi, s.hi))
        self.notes["carfilzomib_level"] = level
        minutes = s.minutes
        infusion = rng.choices(({"infusionDuration": quantity(minutes, "min")},
                                {"infusionDuration": quantity(minutes / 60, "h")} if minutes == 30 else
                                {"infusionDuration": quantity(30, "min")},
                                {"infusionDuration": quantity(60, "min")}, {}), weights=(70, 10, 5, 15))[0]
        if priming:
            self.regimen_agent("carfilzomib", priming, 20, "mg/m2", "IV", rng.choice((0.1, 1)), infusion)
        self.regimen_agent("carfilzomib", [d for d in k_days if d not in priming], level, "mg/m2", "IV",
                           rng.choice((0.1, 1)), infusion)
        hydration_days = k_days if cycle == 1 or rng.random() < 0.15 else []
        self.supportive("sodium-chloride-0.9", hydration_days, rng.choice((250, 250, 500, 500, 300)), "mL", "IV")

        antibody_days: dict[int, str] = {}
        if "daratumumab" in agents:
            days = [1, 8, 15, 22] if cycle <= 2 else [1, 15] if cycle <= 6 else [1]
            route = "SC" if rng.random() < 0.3 else "IV"
            self.notes["daratumumab"] = route
            if route == "SC":
                self.regimen_agent("daratumumab", days, 1800, "mg", "SC", 1)
            elif cycle == 1 and rng.random() < 0.35:
                self.notes["daratumumab"] = "IV split first dose"
                self.regimen_agent("daratumumab", [1, 2], 8, "mg/kg", "IV", rng.choice((1, 10)), always_level=True)
                self.regimen_agent("daratumumab", days[1:], 16, "mg/kg", "IV", rng.choice((1, 10)))
                days = [1, 2] + days[1:]
            else:
                self.regimen_agent("daratumumab", days, 16, "mg/kg", "IV", rng.choice((1, 10)))
            antibody_days |= {d: "daratumumab" for d in days}
        if "isatuximab" in agents:
            days = [1, 8, 15, 22] if cycle == 1 else [1, 15]
            self.regimen_agent("isatuximab", days, 10, "mg/kg", "IV", rng.choice((1, 10)))
            antibody_days |= {d: "isatuximab" for d in days}
        if "lenalidomide" in agents:
            band, every48 = M.lenalidomide_band(self.patient)
            days = list(range(1, 22, 2)) if every48 else list(range(1, 22))
            self.notes["lenalidomide"] = "dialysis" if self.patient.get("dialysis") is True else band
            self.regimen_agent("lenalidomide", days, band, "mg", "PO", 1)
            if rng.random() < 0.7:
                self.supportive("aspirin", list(range(1, 29)), rng.choice((81, 100)), "mg", "PO")
            else:
                self.supportive("enoxaparin", list(range(1, 29)), 40, "mg", "SC")
        cyclo_iv = []
        if "cyclophosphamide" in agents:
            route = rng.choice(("PO", "IV"))
            self.regimen_agent("cyclophosphamide", [1, 8, 15], 300, "mg/m2", route, rng.choice((1, 10)))
            cyclo_iv = [1, 8, 15] if route == "IV" else []
        clinic = set(k_days) | set(antibody_days) | set(cyclo_iv)
        steroid_days = self.dexamethasone(k_days, antibody_days, clinic)
        if antibody_days:
            days = sorted(antibody_days)
            acetaminophen = rng.choice(((650, "PO"), (1000, "PO"), (1000, "IV")))
            self.supportive("acetaminophen", days, acetaminophen[0], "mg", acetaminophen[1])
            if rng.random() < 0.8:
                self.supportive("diphenhydramine", days, rng.choice((25, 50)), "mg", rng.choice(("PO", "IV")))
                self.notes["h1"] = "diphenhydramine"
            else:
                self.supportive("cetirizine", days, 10, "mg", "PO")
                self.notes["h1"] = "cetirizine"
            self.supportive("famotidine", sorted(d for d, a in antibody_days.items() if a == "isatuximab"),
                            20, "mg", rng.choice(("PO", "IV")))
            self.supportive("methylprednisolone", steroid_days, 100, "mg", "IV")
            if cycle == 1 and rng.random() < 0.5:
                self.supportive("montelukast", [1], 10, "mg", "PO")
        if rng.random() < 0.15:
            self.supportive("ondansetron", sorted(clinic)[:3], 8, "mg", rng.choice(("PO", "IV")))
        antiviral = rng.choice(("acyclovir", "acyclovir", "valacyclovir"))
        self.notes["antiviral"] = antiviral
        self.supportive(antiviral, list(range(1, 29)), 400 if antiviral == "acyclovir" else 500, "mg", "PO")
        return self.admins

    def dexamethasone(self, k_days: list[int], antibody_days: dict[int, str], clinic: set[int]) -> list[int]:
        """Dexamethasone by rule book v2 (5.2, 6.3, 6.4, 6.7); returns the anti-CD38 days whose
        corticosteroid is methylprednisolone instead (a patient older than 75 with two anti-CD38 days in a
        week, whose 20 mg a week cannot be two regimen doses)."""
        rng, regimen, cycle = self.rng, self.regimen, self.cycle
        reg = M.REGIMENS[regimen]
        allowed = reg.dex_days(regimen, cycle)
        route = rng.choice(("PO", "PO", "PO", "IV"))
        doses: dict[int, float] = {}
        steroid_days = []
        if reg.dex_exact_20:                           # Isa-Kd: exactly 20 mg on each allowed day
            doses = {d: 20 for d in sorted(allowed)}
            self.notes["dexamethasone"] = "Isa-Kd 20 mg x 8"
        else:
            old = self.patient.get("age", 0) > M.AGE_OVER
            budget = M.AGE_WEEKLY_MAX if old else M.DEX_WEEKLY_MAX
            split = rng.random() < 0.4                 # the weekly dose split over the week's carfilzomib days
            self.notes["dexamethasone"] = ("over 75: " if old else "") + ("split" if split else "weekly")
            for week in range(1, 5):
                days = [d for d in sorted(allowed) if M.week_of(d) == week]
                if not days:
                    continue
                need = [d for d in days if d in antibody_days]          # a regimen dose each (6.3)
                if split and not old:
                    need = sorted(set(need) | {d for d in days if d in k_days})
                if not need and (set(days) & clinic or rng.random() < 0.5):
                    need = [next((d for d in days if d in clinic), days[0])]
                if not need:
                    continue
                if len(need) * 20 > budget:            # over 75, two anti-CD38 days: one gets methylprednisolone
                    steroid_days += need[1:]
                    need = need[:1]
                each = budget / len(need)
                each = each if len(need) > 1 or old else rng.choice((40, 40, 30, 20))
                doses |= {d: each for d in need}
            if cycle == 1:                             # every cycle-1 carfilzomib day (6.4): a premedication dose
                premed = rng.choice((4, 8))
                doses |= {d: premed for d in k_days if d not in doses}
        by_amount: dict[float, list[int]] = {}
        for d, value in sorted(doses.items()):
            by_amount.setdefault(value, []).append(d)
        for value, days in sorted(by_amount.items(), key=lambda kv: kv[1][0]):
            groups = [[d] for d in days] if self.one_day_each else [days]
            for group in groups:
                admin = set_days({"agent": "dexamethasone"}, group, rng)
                if value >= 20 and self.with_level(True):
                    admin["doseLevel"] = quantity(value, "mg")
                admin["dose"] = quantity(int(value) if float(value).is_integer() else value, "mg")
                admin["route"] = route
                self.admins.append(admin)
        return steroid_days


# --- Faults ------------------------------------------------------------------------


def inject_fault(rng: random.Random, name: str, order: dict, kind: str, rule: str) -> tuple[dict, dict] | None:
    """One mutation of ``kind`` (tests/mutants.py) that the rule book calls a fault drawing ``rule``, or None."""
    generator = M.Generator(M.Source(name, order), 0)
    candidates = list(getattr(generator, kind.replace("-", "_"))())
    rng.shuffle(candidates)
    for facet, change, mutate in candidates:
        mutant = generator.mutant(kind, facet, change, mutate)
        if mutant is not None and rule in {r for r, _ in mutant.targets}:
            return M.orders_of(mutant.document)[0], {
                "kind": kind, "facet": facet, "change": change,
                "rules": sorted({f.rule for f in mutant.faults}),
                "expected": sorted([list(pair) for pair in mutant.expected]),
                "violation": mutant.violation,
                "rule_book": [str(f) for f in mutant.faults]}
    return None


# --- The corpus ------------------------------------------------------------------------


def cycle_for(rng: random.Random, regimen: str, kind: str | None, rule: str | None) -> int:
    if kind in CYCLE_1_KINDS:
        return 1
    if kind == "cycle-beyond":
        return rng.randint(7, D_KRD_INDUCTION) if regimen == "D-KRd" else rng.randint(13, KRD27_CYCLES)
    bucket = rng.choices(("1", "2", "3-6", "7+"), weights=(30, 20, 28, 22))[0]
    if bucket in ("1", "2"):
        return int(bucket)
    if bucket == "3-6":
        return rng.randint(3, 6)
    return rng.randint(7, D_KRD_INDUCTION if regimen == "D-KRd" else KRD27_CYCLES)


Slot = tuple[str, tuple[str, str] | None]


def slots(orders: int, seed: str, fault_share: float = FAULT_SHARE) -> list[Slot]:
    """(regimen, (fault kind, rule) or None) for each file: the faults dealt round-robin over
    fault_targets() (every kind once before any twice, then every rule of every kind), each pair
    going through the regimens it applies to in turn; the fault-free orders through every regimen;
    then shuffled."""
    faulted = round(orders * fault_share)
    targets = fault_targets()
    out: list[Slot] = []
    for j in range(faulted):
        kind, rule = targets[j % len(targets)]
        regimens = [r for r in REGIMEN_IDS if applies(kind, r, rule)]
        out.append((regimens[(j // len(targets) + j) % len(regimens)], (kind, rule)))
    out += [(REGIMEN_IDS[j % len(REGIMEN_IDS)], None) for j in range(orders - faulted)]
    random.Random(f"{seed}#slots").shuffle(out)
    return out


def make_order(seed: str, index: int, regimen: str, target: tuple[str, str] | None) -> tuple[dict, dict]:
    name = f"order-{index:05d}.jsonld"
    kind, rule = target or (None, None)
    for attempt in range(200 if kind else 1):
        rng = random.Random(f"{seed}#order#{index}#{attempt}")
        cycle = cycle_for(rng, regimen, kind, rule)
        patient, patient_notes = make_patient(rng, index, regimen, heavy=kind == "bsa-cap-ignored",
                                              dialysis=target in DIALYSIS_TARGETS)
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
        faulted = inject_fault(rng, name, order, kind, rule)
        if faulted is not None:
            order, entry["fault"] = faulted
            entry["shape"]["administrations"] = len(order.get("administrations", []))
            return order, entry
    raise AssertionError(f"no {kind} fault drawing {rule} found for {regimen} in 200 orders")


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


def build(orders: int = DEFAULT_ORDERS, seed: str = DEFAULT_SEED,
          fault_share: float = FAULT_SHARE) -> tuple[list[Item], dict]:
    """The corpus in memory: the files (name, bytes, manifest entry) and the manifest."""
    items = []
    for index, (regimen, target) in enumerate(slots(orders, seed, fault_share), start=1):
        order, entry = make_order(seed, index, regimen, target)
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


def write(out: Path, orders: int = DEFAULT_ORDERS, seed: str = DEFAULT_SEED,
          fault_share: float = FAULT_SHARE) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    items, manifest = build(orders, seed, fault_share)
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
