"""Single-fault mutants of the valid example orders (tests/test_mutants.py).

Each mutant changes ONE thing in ONE order of a valid example file and must be
a clinically wrong order according to /work/shared/spec/protocols.md (and, for
Isa-Kd, ontology/regimens/Isa-Kd.ttl). The generator is deterministic: plain
enumeration plus ``random.Random`` seeded with strings, so a run always makes
the same mutants.

The protocol knowledge below is the test's own reading of protocols.md, written
out independently of the knowledge base it checks (it would prove nothing to
derive the faults from the ontology under test). ``order_faults`` is an oracle
built on it: it must find nothing in every valid example (a guard test checks
this), and every mutant is kept only if it finds at least one fault, so that a
mutation that happens to stay inside the protocol (dexamethasone 20 mg x 1.25 =
25 mg, an amount that was 4 % under and is now 2 % over, ...) is not counted.
"""

from __future__ import annotations

import copy
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

# --- The rule book (protocols.md) -------------------------------------------

CYCLE_DAYS = range(1, 29)
TOLERANCE = 0.05
BSA_CAP = 2.2

REGIMEN_AGENTS = ("carfilzomib", "lenalidomide", "dexamethasone",
                  "daratumumab", "isatuximab", "cyclophosphamide")
SUPPORTIVE_AGENTS = ("sodium-chloride-0.9", "aspirin", "enoxaparin",
                     "acetaminophen", "diphenhydramine", "montelukast")
ROUTES = ("IV", "PO", "SC")
ALLOWED_ROUTES = {
    "carfilzomib": {"IV"},
    "daratumumab": {"IV", "SC"},
    "isatuximab": {"IV"},
    "lenalidomide": {"PO"},
    "dexamethasone": {"PO", "IV"},
    "cyclophosphamide": {"PO", "IV"},
}

# Carfilzomib schedules: (twice weekly?, escalated level range).
TW56, TW36_56, W70, W56 = (True, (56, 56)), (True, (36, 56)), (False, (70, 70)), (False, (56, 56))
REGIMENS = {
    "D-KRd": (TW56, {"carfilzomib", "daratumumab", "lenalidomide", "dexamethasone"}),
    "KRd": (TW36_56, {"carfilzomib", "lenalidomide", "dexamethasone"}),
    "Isa-KRd": (TW56, {"carfilzomib", "isatuximab", "lenalidomide", "dexamethasone"}),
    # Isa-Kd (issue #4, ontology/regimens/Isa-Kd.ttl): dexamethasone exactly 20 mg
    # on days 1, 2, 8, 9, 15, 16, 22, 23.
    "Isa-Kd": (TW56, {"carfilzomib", "isatuximab", "dexamethasone"}),
    "KdD": (TW56, {"carfilzomib", "daratumumab", "dexamethasone"}),
    "Kd-weekly-70": (W70, {"carfilzomib", "dexamethasone"}),
    "Kd-weekly-56": (W56, {"carfilzomib", "dexamethasone"}),
    "Kd-twice-weekly-56": (TW56, {"carfilzomib", "dexamethasone"}),
    "KCyD": (TW36_56, {"carfilzomib", "cyclophosphamide", "dexamethasone"}),
}

# "One step up" from the highest level the protocol allows (the brief's steps;
# carfilzomib 70 and daratumumab SC 1800 have no labelled higher step, so a
# plausible slip is used). Keyed by (agent, allowed maximum, unit).
NEXT_LEVEL = {
    ("carfilzomib", 56, "mg/m2"): None,  # depends on the range, see next_level()
    ("carfilzomib", 70, "mg/m2"): 80,
    ("daratumumab", 16, "mg/kg"): 24,
    ("daratumumab", 8, "mg/kg"): 16,     # the split first dose given whole on day 1 and day 2
    ("daratumumab", 1800, "mg"): 2400,
    ("isatuximab", 10, "mg/kg"): 12,
    ("cyclophosphamide", 300, "mg/m2"): 350,
    ("lenalidomide", 25, "mg"): 30,
    ("lenalidomide", 10, "mg"): 15,
    ("lenalidomide", 15, "mg"): 20,
    ("dexamethasone", 40, "mg"): 60,
    ("dexamethasone", 20, "mg"): 40,     # Isa-Kd: exactly 20 mg
}


def next_level(agent: str, lo: float, hi: float, unit: str) -> float:
    if agent == "carfilzomib" and hi == 56:
        return 60 if lo == 36 else 70    # 36-56 range -> 60; fixed 56 -> 70
    return NEXT_LEVEL[(agent, hi, unit)]


@dataclass(frozen=True)
class Dosing:
    lo: float
    hi: float
    unit: str          # "mg/m2", "mg/kg" or "mg"


def dosing(regimen: str, agent: str, cycle: int, day: int, route: str | None,
           crcl: float | None) -> Dosing | None:
    """The protocol's level on that day for that agent (None: off schedule)."""
    (twice, escalated), _ = REGIMENS[regimen]
    if agent == "carfilzomib":
        days = {1, 2, 8, 9, 15, 16} if twice else {1, 8, 15}
        if day not in days:
            return None
        priming = {1, 2} if twice else {1}
        if cycle == 1 and day in priming:
            return Dosing(20, 20, "mg/m2")
        return Dosing(*escalated, "mg/m2")
    if agent == "lenalidomide":
        if day > 21:
            return None
        band = 25 if crcl is None or crcl >= 60 else 10 if crcl >= 30 else 15
        return Dosing(band, band, "mg")
    if agent == "dexamethasone":
        if regimen == "Isa-Kd":
            return Dosing(20, 20, "mg") if day in {1, 2, 8, 9, 15, 16, 22, 23} else None
        return Dosing(20, 40, "mg") if day in {1, 8, 15, 22} else None
    if agent == "daratumumab":
        days = {1, 8, 15, 22} if cycle <= 2 else {1, 15} if cycle <= 6 else {1}
        if route == "SC":
            return Dosing(1800, 1800, "mg") if day in days else None
        if cycle == 1 and day == 1:
            return Dosing(8, 16, "mg/kg")
        if cycle == 1 and day == 2:
            return Dosing(8, 8, "mg/kg")
        return Dosing(16, 16, "mg/kg") if day in days else None
    if agent == "isatuximab":
        days = {1, 8, 15, 22} if cycle == 1 else {1, 15}
        return Dosing(10, 10, "mg/kg") if day in days else None
    if agent == "cyclophosphamide":
        return Dosing(300, 300, "mg/m2") if day in {1, 8, 15} else None
    raise KeyError(agent)


def scheduled_days(regimen: str, agent: str, cycle: int) -> set[int]:
    """Every day any of the agent's dosings lists in that cycle (any route)."""
    return {d for d in CYCLE_DAYS for route in ("IV", "SC", "PO")
            if dosing(regimen, agent, cycle, d, route, None) is not None}


# --- Patient quantities -----------------------------------------------------

TO_KG = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237}
TO_CM = {"cm": 1.0, "m": 100.0, "[in_i]": 2.54}


def weight_kg(patient: dict) -> float | None:
    q = patient.get("weight")
    return None if q is None else q["value"] * TO_KG[q["unit"]]


def height_cm(patient: dict) -> float | None:
    q = patient.get("height")
    return None if q is None else q["value"] * TO_CM[q["unit"]]


def bsa(patient: dict) -> float | None:
    if "bsa" in patient:
        assert patient["bsa"]["unit"] == "m2"
        return patient["bsa"]["value"]
    w, h = weight_kg(patient), height_cm(patient)
    return None if w is None or h is None else math.sqrt(w * h / 3600)


def basis(agent: str, unit: str, patient: dict) -> float:
    """What a level is multiplied by: capped BSA (carfilzomib), BSA, weight, or 1."""
    if unit == "mg":
        return 1.0
    if unit == "mg/kg":
        return weight_kg(patient)
    b = bsa(patient)
    return min(b, BSA_CAP) if agent == "carfilzomib" else b


# --- Orders -----------------------------------------------------------------


def orders_of(document) -> list[dict]:
    """The orders of a document (object, array, or @graph), as references into it."""
    if isinstance(document, list):
        return document
    if "@graph" in document:
        return document["@graph"]
    return [document]


def days_of(admin: dict) -> list[int]:
    return [admin["day"]] if "day" in admin else list(admin["days"])


def set_days(admin: dict, days: list[int]) -> None:
    days = sorted(days)
    if "day" in admin and len(days) == 1:
        admin["day"] = days[0]
    else:
        admin.pop("day", None)
        admin["days"] = days


def crcl_of(order: dict) -> float | None:
    q = order["patient"].get("creatinineClearance")
    return None if q is None else q["value"]


def protocol_of(order: dict, admin: dict) -> Dosing:
    """The administration's protocol level (its days' tightest maximum)."""
    ds = [dosing(order["regimen"], admin["agent"], order["cycle"], d, admin.get("route"), crcl_of(order))
          for d in days_of(admin)]
    return min(ds, key=lambda d: d.hi)


def level_of(order: dict, admin: dict) -> float:
    """The stated level, or for a dose-only administration the protocol level it
    was judged against (the derived level clamped into the protocol's range)."""
    if "doseLevel" in admin:
        return admin["doseLevel"]["value"]
    d = protocol_of(order, admin)
    derived = admin["dose"]["value"] / basis(admin["agent"], d.unit, order["patient"])
    return min(max(derived, d.lo), d.hi)


def fmt(x: float) -> float:
    return round(x, 4)


def admin_faults(order: dict, admin: dict) -> list[str]:
    """What protocols.md says is wrong with one administration (empty: nothing)."""
    agent, regimen, cycle = admin["agent"], order["regimen"], order["cycle"]
    if agent in SUPPORTIVE_AGENTS:
        return []
    if agent not in REGIMENS[regimen][1]:
        return [f"{agent} is not a component of {regimen}"]
    faults = []
    route = admin.get("route")
    if route not in ALLOWED_ROUTES[agent]:
        faults.append(f"route {route} not allowed for {agent}")
    patient, level, dose = order["patient"], admin.get("doseLevel"), admin.get("dose")
    for day in days_of(admin):
        d = dosing(regimen, agent, cycle, day, route, crcl_of(order))
        if d is None:
            faults.append(f"{agent} day {day} is off schedule in cycle {cycle}")
            continue
        where = f"{agent} day {day}"
        if level is not None:
            if level["unit"] != d.unit or not d.lo <= level["value"] <= d.hi:
                faults.append(f"{where}: level {level['value']} {level['unit']} outside {d.lo}-{d.hi} {d.unit}")
                continue
            if dose is not None:
                expected = level["value"] * basis(agent, d.unit, patient)
                if d.unit == "mg" and dose["value"] != expected:
                    faults.append(f"{where}: flat dose {dose['value']} mg != level {expected} mg")
                elif abs(dose["value"] - expected) > TOLERANCE * expected * (1 + 1e-9):
                    faults.append(f"{where}: {dose['value']} mg not within 5 % of {fmt(expected)} mg")
        elif dose is not None:
            if d.unit == "mg":
                if not d.lo <= dose["value"] <= d.hi:
                    faults.append(f"{where}: flat dose {dose['value']} mg outside {d.lo}-{d.hi} mg")
            else:
                b = basis(agent, d.unit, patient)
                if dose["value"] > d.hi * b * (1 + TOLERANCE) * (1 + 1e-9):
                    faults.append(f"{where}: {dose['value']} mg is above {d.hi} {d.unit} x {fmt(b)} + 5 %"
                                  f" (derived level {fmt(dose['value'] / b)})")
    return faults


def order_faults(order: dict) -> list[str]:
    faults = [f for admin in order["administrations"] for f in admin_faults(order, admin)]
    seen: dict[tuple[str, int], int] = {}
    for admin in order["administrations"]:
        if admin["agent"] in REGIMEN_AGENTS:
            for day in days_of(admin):
                key = (admin["agent"], day)
                seen[key] = seen.get(key, 0) + 1
    faults += [f"{agent} twice on day {day}" for (agent, day), n in seen.items() if n > 1]
    return faults


# --- Mutants ----------------------------------------------------------------

KINDS = ("amount-over", "level-up", "day-off-schedule", "agent-swapped",
         "route-changed", "priming-skipped", "bsa-cap-ignored")
FACTORS = (1.06, 1.10, 1.25, 1.5, 2.0)

# How many of each kind's candidates a default run checks (None: all). A check
# costs ~50-100 ms, so the default keeps the whole file under ~75 s; the sample
# takes one candidate of every (regimen, facet) before a second of any.
# PROTOVALIDATE_MUTANTS=all checks every candidate (~3-4 minutes).
QUOTAS = {"amount-over": 130, "level-up": 70, "day-off-schedule": 75,
          "agent-swapped": 55, "route-changed": 60, "priming-skipped": None,
          "bsa-cap-ignored": None}


@dataclass
class Mutant:
    kind: str
    file: str
    order_index: int
    order_id: str
    regimen: str
    facet: str            # what sort of change, for sampling and counting
    change: str           # exactly what was changed
    document: object = field(repr=False)
    faults: list[str] = field(default_factory=list)   # the oracle's reading

    @property
    def data(self) -> bytes:
        return json.dumps(self.document, indent=1).encode("utf-8")

    def describe(self) -> str:
        return f"{self.file} [{self.order_id}] {self.kind}: {self.change}"


@dataclass
class Source:
    file: str
    document: object

    @property
    def data(self) -> bytes:
        return json.dumps(self.document, indent=1).encode("utf-8")

    def orders(self) -> list[dict]:
        return orders_of(self.document)


def load_sources(folder: Path) -> list[Source]:
    return [Source(p.name, json.loads(p.read_text("utf-8"))) for p in sorted(folder.glob("*.jsonld"))]


class Generator:
    """Makes the candidate mutants of one order; each kind's method yields
    (facet, change, mutate) with mutate(document, order) changing the copy."""

    def __init__(self, source: Source, index: int):
        self.source, self.index = source, index
        self.order = source.orders()[index]
        self.regimen, self.cycle = self.order["regimen"], self.order["cycle"]
        self.within_protocol: list[Mutant] = []

    def rng(self, *salt) -> random.Random:
        return random.Random(f"{self.source.file}#{self.index}#{salt}")

    def mutant(self, kind: str, facet: str, change: str, mutate) -> Mutant | None:
        document = copy.deepcopy(self.source.document)
        order = orders_of(document)[self.index]
        mutate(document, order)
        m = Mutant(kind, self.source.file, self.index, self.order.get("@id", f"#{self.index}"),
                   self.regimen, facet, change, document, order_faults(order))
        if not m.faults:                 # still inside the protocol: not a fault
            self.within_protocol.append(m)
            return None
        return m

    def regimen_admins(self):
        return [(i, a) for i, a in enumerate(self.order["administrations"]) if a["agent"] in REGIMEN_AGENTS]

    def all(self) -> list[Mutant]:
        out = []
        for kind in KINDS:
            method = getattr(self, kind.replace("-", "_"))
            out += [m for facet, change, mutate in method()
                    if (m := self.mutant(kind, facet, change, mutate))]
        return out

    # 1. amount 6 % to 100 % over ---------------------------------------------------
    def amount_over(self):
        for i, a in self.regimen_admins():
            if "dose" not in a or a["dose"]["unit"] != "mg":
                continue
            variants = ["keep-level", "drop-level"] if "doseLevel" in a else ["dose-only"]
            for variant in variants:
                for factor in FACTORS:
                    new = fmt(a["dose"]["value"] * factor)

                    def mutate(doc, o, i=i, new=new, variant=variant):
                        o["administrations"][i]["dose"]["value"] = new
                        if variant == "drop-level":
                            del o["administrations"][i]["doseLevel"]
                    yield (f"{a['agent']} {variant} x{factor}",
                           f"{a['agent']} #{i} dose {a['dose']['value']} -> {new} mg (x{factor}, {variant})",
                           mutate)

    # 2. dose level one step up -------------------------------------------------------
    def level_up(self):
        for i, a in self.regimen_admins():
            d = protocol_of(self.order, a)
            if a["agent"] == "carfilzomib" and d.hi == 20:
                continue                 # priming 20 -> escalated level: kind 6
            new_level = next_level(a["agent"], d.lo, d.hi, d.unit)
            old = a["dose"]["value"] if d.unit == "mg" and "doseLevel" not in a else level_of(self.order, a)
            new_dose = fmt(a["dose"]["value"] * new_level / old)

            def mutate(doc, o, i=i, new_level=new_level, new_dose=new_dose):
                admin = o["administrations"][i]
                if "doseLevel" in admin:
                    admin["doseLevel"]["value"] = new_level
                admin["dose"]["value"] = new_dose
            yield (f"{a['agent']} {fmt(old)}->{new_level} {d.unit}" + ("" if "doseLevel" in a else " dose-only"),
                   f"{a['agent']} #{i} level {fmt(old)} -> {new_level} {d.unit}, "
                   f"dose {a['dose']['value']} -> {new_dose} mg", mutate)

    # 3. a day moved off schedule --------------------------------------------------------
    def day_off_schedule(self):
        for i, a in self.regimen_admins():
            agent = a["agent"]
            used = {d for b in self.order["administrations"] if b["agent"] == agent for d in days_of(b)}
            free = [d for d in CYCLE_DAYS if d not in scheduled_days(self.regimen, agent, self.cycle) | used]
            if not free:
                continue
            rng = self.rng("day", i)
            days = days_of(a)
            for moved in sorted({days[0], days[-1], rng.choice(days)}):
                # The first free day (the schedule's edge) and one drawn at random.
                for how, target in (("first free day", free[0]), ("random free day", rng.choice(free))):
                    def mutate(doc, o, i=i, moved=moved, target=target):
                        admin = o["administrations"][i]
                        set_days(admin, [target if d == moved else d for d in days_of(admin)])
                    yield f"{agent} to {how}", f"{agent} #{i} day {moved} -> {target}", mutate

    # 4. agent swapped for a regimen agent outside the regimen ---------------------------
    def agent_swapped(self):
        outside = [x for x in REGIMEN_AGENTS if x not in REGIMENS[self.regimen][1]]
        for i, a in self.regimen_admins():
            for other in outside:
                def mutate(doc, o, i=i, other=other):
                    o["administrations"][i]["agent"] = other
                yield f"{a['agent']}->{other}", f"{a['agent']} #{i} -> {other}", mutate

    # 5. route changed ------------------------------------------------------------------
    def route_changed(self):
        for i, a in self.regimen_admins():
            for route in (r for r in ROUTES if r not in ALLOWED_ROUTES[a["agent"]]):
                def mutate(doc, o, i=i, route=route):
                    o["administrations"][i]["route"] = route
                yield (f"{a['agent']} {a.get('route')}->{route}",
                       f"{a['agent']} #{i} route {a.get('route')} -> {route}", mutate)

    # 6. priming dose skipped -------------------------------------------------------------
    def priming_skipped(self):
        if self.cycle != 1:
            return
        ks = [(i, a) for i, a in self.regimen_admins() if a["agent"] == "carfilzomib"]
        priming = [(i, a) for i, a in ks if level_of(self.order, a) == 20]
        escalated = [(i, a) for i, a in ks if level_of(self.order, a) != 20]
        (_, (_, hi)), _ = REGIMENS[self.regimen]
        for p, pa in priming:
            e, ea = escalated[0] if escalated else (None, None)
            level = level_of(self.order, ea) if ea else hi
            dose = fmt(pa["dose"]["value"] * level / 20)

            def raised(doc, o, p=p, level=level, dose=dose):
                o["administrations"][p]["doseLevel"]["value"] = level
                o["administrations"][p]["dose"]["value"] = dose
            yield "priming at escalated level", f"carfilzomib #{p} priming 20 -> {level} mg/m2, dose -> {dose} mg", raised

            def raised_dose_only(doc, o, p=p, dose=dose):
                del o["administrations"][p]["doseLevel"]
                o["administrations"][p]["dose"]["value"] = dose
            yield ("priming dose escalated, no level",
                   f"carfilzomib #{p} priming dose -> {dose} mg ({level} mg/m2), doseLevel dropped", raised_dose_only)

            if ea is None:
                continue

            def merged(doc, o, p=p, e=e):
                admins = o["administrations"]
                set_days(admins[e], days_of(admins[e]) + days_of(admins[p]))
                del admins[p]
            yield ("priming days merged into escalation",
                   f"carfilzomib priming #{p} removed, its days {days_of(pa)} given at {level} mg/m2 (#{e})", merged)

            if len(days_of(pa)) > 1:
                last = days_of(pa)[-1]

                def second_day(doc, o, p=p, e=e, last=last):
                    admins = o["administrations"]
                    set_days(admins[p], [d for d in days_of(admins[p]) if d != last])
                    set_days(admins[e], days_of(admins[e]) + [last])
                yield ("second priming day escalated",
                       f"carfilzomib day {last} moved from priming #{p} to {level} mg/m2 (#{e})", second_day)

    # 7. BSA cap ignored --------------------------------------------------------------------
    def bsa_cap_ignored(self):
        patient = self.order["patient"]
        true_bsa = bsa(patient)
        ks = [(i, a) for i, a in self.regimen_admins() if a["agent"] == "carfilzomib"]
        if true_bsa > BSA_CAP * (1 + TOLERANCE):
            # A patient above the cap: the carfilzomib dose computed on the uncapped BSA.
            for i, a in ks:
                level = level_of(self.order, a)
                dose = fmt(level * true_bsa)
                for variant in (["keep-level", "drop-level"] if "doseLevel" in a else ["dose-only"]):
                    def mutate(doc, o, i=i, dose=dose, variant=variant):
                        o["administrations"][i]["dose"]["value"] = dose
                        if variant == "drop-level":
                            del o["administrations"][i]["doseLevel"]
                    yield (f"patient above the cap, {variant}",
                           f"carfilzomib #{i} {level} mg/m2 x uncapped BSA {fmt(true_bsa)} = {dose} mg"
                           f" (capped {fmt(level * BSA_CAP)}; {variant})", mutate)
            return
        # Otherwise the patient made heavier (BSA 2.6 m2) with every dose recomputed
        # for the new patient, and one carfilzomib administration on the uncapped BSA.
        for i, a in ks:
            def mutate(doc, o, i=i):
                make_heavy(doc, o, uncapped={i})
            yield ("patient made heavy", f"patient made heavy (BSA {HEAVY_BSA} m2, doses recomputed); "
                   f"carfilzomib #{i} on the uncapped BSA = {fmt(level_of(self.order, a) * HEAVY_BSA)} mg", mutate)


HEAVY_BSA = 2.6


def heavy_patient(order: dict, uncapped=frozenset()) -> None:
    """Make the patient's BSA 2.6 m2 (weight raised, or the given bsa) and recompute
    every per-m2 and per-kg dose for the new patient: carfilzomib on the capped BSA
    except the administrations in ``uncapped``."""
    patient = order["patient"]
    levels = {i: level_of(order, a) if a["agent"] == "carfilzomib" else None
              for i, a in enumerate(order["administrations"])}
    if "bsa" in patient:
        patient["bsa"]["value"] = HEAVY_BSA
    else:
        kg = HEAVY_BSA ** 2 * 3600 / height_cm(patient)
        patient["weight"]["value"] = round(kg / TO_KG[patient["weight"]["unit"]], 1)
    for i, a in enumerate(order["administrations"]):
        if a["agent"] == "carfilzomib":
            b = bsa(patient) if i in uncapped else min(bsa(patient), BSA_CAP)
            a["dose"]["value"] = fmt(levels[i] * b)
        elif a["agent"] == "cyclophosphamide":
            a["dose"]["value"] = fmt(a["doseLevel"]["value"] * bsa(patient))
        elif a.get("doseLevel", {}).get("unit") == "mg/kg":
            a["dose"]["value"] = fmt(a["doseLevel"]["value"] * weight_kg(patient))
        else:                            # flat doses stay as they are
            assert a["agent"] not in ("isatuximab", "cyclophosphamide"), a
            assert not (a["agent"] == "daratumumab" and a.get("route") == "IV"), a


def make_heavy(document, order: dict, uncapped=frozenset()) -> None:
    """heavy_patient on the order, and on every other order of the document for the
    same patient (@id), so that the document does not contradict itself about the
    patient's weight."""
    heavy_patient(order, uncapped)
    pid = order["patient"].get("@id")
    for other in orders_of(document):
        if other is not order and pid is not None and other["patient"].get("@id") == pid:
            heavy_patient(other)


def heavy_control(source: Source, index: int) -> Source:
    """The heavy patient with every dose correct (capped): must pass clean."""
    document = copy.deepcopy(source.document)
    make_heavy(document, orders_of(document)[index])
    return Source(source.file, document)


def generate(sources: list[Source]) -> tuple[list[Mutant], list[Mutant]]:
    """All candidate mutants, and the mutations the oracle found still inside the protocol."""
    mutants, within = [], []
    for source in sources:
        for index, order in enumerate(source.orders()):
            if order.get("regimen") not in REGIMENS:
                continue                 # test_mutants.py fails on it with a clear message
            g = Generator(source, index)
            mutants += g.all()
            within += g.within_protocol
    return mutants, within


def sample(mutants: list[Mutant], quotas: dict[str, int | None], seed: str = "protovalidate") -> list[Mutant]:
    """A deterministic sample of each kind: round-robin over (regimen, facet) groups,
    the first round going through every regimen before any regimen's second facet."""
    picked = []
    for kind in KINDS:
        candidates = [m for m in mutants if m.kind == kind]
        quota = quotas.get(kind)
        if quota is None or quota >= len(candidates):
            picked += candidates
            continue
        rng = random.Random(f"{seed}#{kind}")
        groups: dict[tuple[str, str], list[Mutant]] = {}
        for m in candidates:
            groups.setdefault((m.regimen, m.facet), []).append(m)
        for members in groups.values():
            rng.shuffle(members)
        by_regimen: dict[str, list[tuple[str, str]]] = {}
        for key in sorted(groups):
            by_regimen.setdefault(key[0], []).append(key)
        for keys in by_regimen.values():
            rng.shuffle(keys)
        order = [keys[r] for r in range(max(map(len, by_regimen.values())))
                 for keys in by_regimen.values() if r < len(keys)]
        chosen: list[Mutant] = []
        while len(chosen) < quota:
            for key in order:
                if groups[key] and len(chosen) < quota:
                    chosen.append(groups[key].pop())
        picked += chosen
    return picked
