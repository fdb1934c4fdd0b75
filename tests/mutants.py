"""Single-fault mutants of the valid example orders (tests/test_mutants.py), read against rule book v2.

Each mutant changes ONE thing in ONE order of a valid example file (the other
orders of an array or @graph file stay as they are, except that a change to a
patient is made to every order of that patient, so that the file does not
contradict itself). The generator is deterministic: plain enumeration plus
``random.Random`` seeded with strings, so a run always makes the same mutants.

The rule book (docs/rules.md names it: rule book v2, sections 1-8) is read
HERE, independently of the knowledge base under test: nothing below imports or
reads ontology/ or shapes/ (it would prove nothing to derive the faults from
the data being checked). ``findings(order)`` is the oracle built on this
reading: what a careful pharmacist following the rule book would report, as
(rule id, severity, agent, day) with a reason. It must report nothing at all
for every valid example (a guard test checks this: v2 valid orders give no
finding, not even a warning). A mutation is kept as a mutant only when the
oracle reports something for the mutated order; a mutation the oracle finds
nothing in (dexamethasone 20 -> 25 mg where 20-40 mg is allowed, cetirizine
instead of diphenhydramine, a 15 % weight drift with carfilzomib alone) is kept
aside, and the validator must report nothing for it either.

How a mutant counts as rejected (test_mutants.py):
- when the oracle reports a violation (severity error), the validator must
  report at least one error for the mutated order (the exit status a
  pharmacist relies on); that is the false-accept test;
- when the oracle reports only warnings or information (a dropped famotidine,
  a missing antiviral, an omitted dose, ...), the exit status says nothing (0
  by default), so the mutant counts as rejected only when the validator
  reports the kind's own rule id at the oracle's severity for that order (the
  suite checks the finding, not the exit code);
- separately, every (rule id, severity) the oracle reports must be among the
  validator's findings for that order (the validator finds what the rule
  book says, by the rule book's name for it).

Every rule id of the rule book (REQUIRED_RULES: the v1 rules and those new in
v2) is the target of at least one mutation kind; the test checks that each is
both produced by a mutant and reported by the validator.
"""

from __future__ import annotations

import copy
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

# --- The rule book v2 ------------------------------------------------------------

CYCLE_DAYS = range(1, 29)
TOLERANCE = 0.05                 # 2: +-5 %, inclusive
SLACK = 1e-9                     # 1: the project's float slack
BSA_CAP = 2.2                    # 3: carfilzomib
PREMED_MAX = 8                   # 5.2: a dexamethasone premedication dose is at most 8 mg
DEX_WEEKLY_MAX = 40              # 5.2
AGE_WEEKLY_MAX, AGE_OVER = 20, 75  # 5.2: older than 75, more than 20 mg in a week: W
BSA_WARN, BSA_VIOLATION = 0.05, 0.10            # 2.1
WEIGHT_CHANGE = {"carfilzomib": 0.20, "daratumumab": 0.10, "cyclophosphamide": 0.10}  # 2.2 (defaults)
LEN_HOLD = (1.0, 30)             # 5.1: neutrophils < 1.0, platelets < 30
K_HOLD = (0.5, 10)               # 6.6
START_COUNTS = (1.0, 50)         # 5.1: cycle-start-count-low
HYDRATION_ML = (250, 500)        # 6.1
D_KRD_INDUCTION = 8              # 4

REGIMEN_AGENTS = ("carfilzomib", "lenalidomide", "dexamethasone",
                  "daratumumab", "isatuximab", "cyclophosphamide")
# Section 7: supportive agents, their class and routes.
SUPPORTIVE = {
    "sodium-chloride-0.9": ("hydration", {"IV"}),
    "aspirin": ("vte", {"PO"}),
    "enoxaparin": ("vte", {"SC"}),
    "acetaminophen": ("antipyretic", {"PO", "IV"}),
    "diphenhydramine": ("h1", {"PO", "IV"}),
    "montelukast": (None, {"PO"}),
    "acyclovir": ("antiviral", {"PO", "IV"}),
    "valacyclovir": ("antiviral", {"PO"}),
    "famotidine": ("h2", {"PO", "IV"}),
    "methylprednisolone": ("corticosteroid", {"PO", "IV"}),
    "ondansetron": ("antiemetic", {"PO", "IV"}),
    "cetirizine": ("h1", {"PO"}),
}
SUPPORTIVE_AGENTS = tuple(SUPPORTIVE)
ROUTES = ("IV", "PO", "SC")
ALLOWED_ROUTES = {
    "carfilzomib": {"IV"},
    "daratumumab": {"IV", "SC"},
    "isatuximab": {"IV"},
    "lenalidomide": {"PO"},
    "dexamethasone": {"PO", "IV"},
    "cyclophosphamide": {"PO", "IV"},
    **{agent: routes for agent, (_, routes) in SUPPORTIVE.items()},
}
MYELOSUPPRESSIVE = {"lenalidomide", "carfilzomib", "cyclophosphamide"}
ANTI_CD38 = {"daratumumab", "isatuximab"}
NEVER_REDUCED = ANTI_CD38        # 5.3, 5.4 (C17)


@dataclass(frozen=True)
class Schedule:
    """A carfilzomib schedule (3.3): twice weekly or weekly, its escalated level range, infusion minimum."""
    twice: bool
    lo: float
    hi: float
    minutes: float
    krd27: bool = False          # 4.1: cycles 13-18 without days 8, 9; cycle >= 19 warn-on-use


TW56 = Schedule(True, 56, 56, 30)
TW36_56 = Schedule(True, 36, 56, 30)
TW27 = Schedule(True, 27, 27, 10, krd27=True)
W70 = Schedule(False, 70, 70, 30)
W56 = Schedule(False, 56, 56, 30)

TWICE_DEX = frozenset({1, 2, 8, 9, 15, 16, 22, 23})
WEEKLY_DEX = frozenset({1, 8, 15, 22})


@dataclass(frozen=True)
class Regimen:
    schedule: Schedule
    agents: frozenset
    dex_exact_20: bool = False   # Isa-Kd: exactly 20 mg, own rule (no premedication dose, no weekly total)

    def dex_days(self, name: str, cycle: int) -> frozenset:
        """Section 4: dexamethasone allowed days."""
        if name == "KdD-weekly-70":
            return frozenset({1, 2, 8, 15, 22}) if cycle == 1 else WEEKLY_DEX
        if name == "Kd-weekly-70":
            return WEEKLY_DEX if cycle <= 9 else frozenset({1, 8, 15})
        if name == "Kd-weekly-56":
            return WEEKLY_DEX
        return TWICE_DEX


def _r(schedule, *agents, **kw):
    return Regimen(schedule, frozenset({"carfilzomib", "dexamethasone", *agents}), **kw)


REGIMENS = {
    "D-KRd": _r(TW56, "daratumumab", "lenalidomide"),
    "KRd": _r(TW36_56, "lenalidomide"),
    "KRd-27": _r(TW27, "lenalidomide"),
    "Isa-KRd": _r(TW56, "isatuximab", "lenalidomide"),
    "KdD": _r(TW56, "daratumumab"),
    "KdD-weekly-70": _r(W70, "daratumumab"),
    "Kd-weekly-70": _r(W70),
    "Kd-weekly-56": _r(W56),
    "Kd-twice-weekly-56": _r(TW56),
    "KCyD": _r(TW36_56, "cyclophosphamide"),
    "Isa-Kd": _r(TW56, "isatuximab", dex_exact_20=True),
}

# Severity of each rule id (V error, W warning, I information). antiviral-prophylaxis-missing is
# W with daratumumab and I otherwise (6.5): its severity is given where it is found.
WARNINGS = {"dose-level-reduced", "priming-not-in-order", "dose-omitted", "split-dose-unconfirmed",
            "age-weekly-dose-limit", "carfilzomib-premedication-missing", "premedication-missing",
            "beyond-labelled-duration", "beyond-induction-cycles", "dialysis-crcl-inconsistent",
            "cycle-start-count-low", "bsa-discrepancy", "hydration-missing", "vte-prophylaxis-missing"}
V1_RULES = {
    "administration-missing-field", "agent-not-in-regimen", "beyond-induction-cycles", "cycle-out-of-range",
    "daratumumab-split-dose", "day-out-of-range", "dose-amount-mismatch", "dose-interval-too-short",
    "dose-level-above-protocol", "dose-level-below-protocol", "dose-level-not-in-protocol", "dose-level-reduced",
    "dose-level-unit-mismatch", "dose-not-positive", "dose-unit-wrong-kind", "duplicate-administration",
    "hydration-missing", "infusion-too-short", "lab-hold", "missing-patient-data", "not-a-number",
    "not-a-whole-number", "off-schedule", "order-missing-field", "patient-data-conflict",
    "patient-value-not-positive", "premedication-missing", "quantity-incomplete", "route-not-allowed",
    "unit-not-allowed", "unknown-agent", "unknown-regimen", "vte-prophylaxis-missing"}
V2_RULES = {
    "priming-dose-missing", "priming-not-in-order", "dose-omitted", "daratumumab-split-dose",
    "split-dose-unconfirmed", "dexamethasone-weekly-total", "age-weekly-dose-limit",
    "carfilzomib-premedication-missing", "premedication-missing", "antiviral-prophylaxis-missing",
    "beyond-labelled-duration", "dialysis-crcl-inconsistent", "cycle-start-count-low", "bsa-inconsistent",
    "bsa-discrepancy", "weight-change-recalculate", "not-a-boolean"}
REQUIRED_RULES = V1_RULES | V2_RULES


def severity_of(rule: str) -> str:
    return "warning" if rule in WARNINGS else "error"


@dataclass(frozen=True)
class Dosing:
    """One dosing of the protocol for the order's cycle (and renal band)."""
    agent: str
    lo: float
    hi: float
    unit: str                    # "mg/m2", "mg/kg" or "mg"
    routes: frozenset
    days: frozenset
    role: str = "expected"       # expected (priming included) | alternative (split) | warn (KRd-27 >= 19)
    every48: bool = False
    priming: bool = False


def dosings(regimen: str, cycle: int, patient: dict) -> list[Dosing]:
    """Every dosing of the regimen that applies to this cycle and patient (sections 3-5)."""
    reg = REGIMENS[regimen]
    s = reg.schedule
    out: list[Dosing] = []
    iv = frozenset({"IV"})
    # Carfilzomib (3.3, 4.1).
    if s.twice:
        if cycle == 1:
            out += [Dosing("carfilzomib", 20, 20, "mg/m2", iv, frozenset({1, 2}), priming=True),
                    Dosing("carfilzomib", s.lo, s.hi, "mg/m2", iv, frozenset({8, 9, 15, 16}))]
        elif s.krd27 and cycle >= 19:
            out.append(Dosing("carfilzomib", 27, 27, "mg/m2", iv, frozenset({1, 2, 15, 16}), role="warn"))
        elif s.krd27 and cycle >= 13:
            out.append(Dosing("carfilzomib", 27, 27, "mg/m2", iv, frozenset({1, 2, 15, 16})))
        else:
            out.append(Dosing("carfilzomib", s.lo, s.hi, "mg/m2", iv, frozenset({1, 2, 8, 9, 15, 16})))
    else:
        if cycle == 1:
            out += [Dosing("carfilzomib", 20, 20, "mg/m2", iv, frozenset({1}), priming=True),
                    Dosing("carfilzomib", s.lo, s.hi, "mg/m2", iv, frozenset({8, 15}))]
        else:
            out.append(Dosing("carfilzomib", s.lo, s.hi, "mg/m2", iv, frozenset({1, 8, 15})))
    agents = reg.agents
    if "lenalidomide" in agents:   # 5.1
        band, every48 = lenalidomide_band(patient)
        days = frozenset(range(1, 22))
        out.append(Dosing("lenalidomide", band, band, "mg", frozenset({"PO"}), days, every48=every48))
    if "daratumumab" in agents:    # 5.3
        days = frozenset({1, 8, 15, 22} if cycle <= 2 else {1, 15} if cycle <= 6 else {1})
        out += [Dosing("daratumumab", 16, 16, "mg/kg", iv, days),
                Dosing("daratumumab", 1800, 1800, "mg", frozenset({"SC"}), days)]
        if cycle == 1:
            out.append(Dosing("daratumumab", 8, 8, "mg/kg", iv, frozenset({1, 2}), role="alternative"))
    if "isatuximab" in agents:     # 5.4
        out.append(Dosing("isatuximab", 10, 10, "mg/kg", iv,
                          frozenset({1, 8, 15, 22} if cycle == 1 else {1, 15})))
    if "cyclophosphamide" in agents:  # 5.5
        out.append(Dosing("cyclophosphamide", 300, 300, "mg/m2", frozenset({"PO", "IV"}), frozenset({1, 8, 15})))
    lo, hi = (20, 20) if reg.dex_exact_20 else (20, 40)   # 5.2
    out.append(Dosing("dexamethasone", lo, hi, "mg", frozenset({"PO", "IV"}), reg.dex_days(regimen, cycle)))
    return out


def lenalidomide_band(patient: dict) -> tuple[float, bool]:
    """5.1: (dose, every 48 h?) for the patient's renal band; dialysis chooses its band whatever the CrCl."""
    if patient.get("dialysis") is True:
        return 5, False
    crcl = value_of(patient.get("creatinineClearance"))
    if crcl is None or crcl >= 60:
        return 25, False
    if crcl >= 30:
        return 10, False
    return 15, True


def scheduled_days(regimen: str, agent: str, cycle: int, patient: dict | None = None) -> set[int]:
    """Every day any dosing of the agent lists in that cycle (any route, any role)."""
    return {d for x in dosings(regimen, cycle, patient or {}) if x.agent == agent for d in x.days}


# --- Patient quantities -------------------------------------------------------------

TO_KG = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237}
TO_CM = {"cm": 1.0, "m": 100.0, "[in_i]": 2.54}
TO_MG = {"mg": 1.0, "g": 1000.0}
TO_MIN = {"min": 1.0, "h": 60.0}
UNITS = {   # order-format.md: the units each key may take
    "weight": set(TO_KG), "height": set(TO_CM), "bsa": {"m2"}, "creatinineClearance": {"mL/min"},
    "neutrophils": {"10*9/L"}, "platelets": {"10*9/L"},
    "dose": {"mg", "g", "mL"}, "doseLevel": {"mg/m2", "mg/kg", "mg"}, "infusionDuration": set(TO_MIN),
}
PATIENT_QUANTITIES = ("weight", "height", "bsa", "creatinineClearance", "neutrophils", "platelets")


def is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def is_whole(x) -> bool:
    return is_number(x) and float(x).is_integer()


def value_of(q) -> float | None:
    return q["value"] if isinstance(q, dict) and is_number(q.get("value")) else None


def kg(q) -> float | None:
    return None if value_of(q) is None or q.get("unit") not in TO_KG else q["value"] * TO_KG[q["unit"]]


def weight_kg(patient: dict) -> float | None:
    return kg(patient.get("weight"))


def height_cm(patient: dict) -> float | None:
    q = patient.get("height")
    return None if value_of(q) is None or q.get("unit") not in TO_CM else q["value"] * TO_CM[q["unit"]]


def mosteller(height: float, weight: float) -> float:
    return math.sqrt(height * weight / 3600)


def bsa(patient: dict) -> float | None:
    """The patient's BSA (2): the stated one, else Mosteller from height and weight."""
    if "bsa" in patient:
        return value_of(patient["bsa"])
    w, h = weight_kg(patient), height_cm(patient)
    return None if w is None or h is None else mosteller(h, w)


def basis(agent: str, unit: str, patient: dict) -> float | None:
    """What a level is multiplied by (2, 2.2, 3): the dose basis when given (isatuximab: always
    the current weight), else the current BSA or weight; carfilzomib's BSA capped at 2.2."""
    if unit == "mg":
        return 1.0
    db = patient.get("doseBasis") if isinstance(patient.get("doseBasis"), dict) else None
    if unit == "mg/kg":
        return kg(db.get("weight")) if db is not None and agent != "isatuximab" else weight_kg(patient)
    b = value_of(db.get("bsa")) if db is not None else bsa(patient)
    if b is None:
        return None
    return min(b, BSA_CAP) if agent == "carfilzomib" else b


# --- Orders ----------------------------------------------------------------------


def orders_of(document) -> list[dict]:
    """The orders of a document (object, array, or @graph), as references into it."""
    if isinstance(document, list):
        return document
    if "@graph" in document:
        return document["@graph"]
    return [document]


def days_of(admin: dict) -> list:
    if "day" in admin:
        return [admin["day"]]
    days = admin.get("days")
    return list(days) if isinstance(days, list) else []


def set_days(admin: dict, days: list[int]) -> None:
    days = sorted(days)
    if "day" in admin and len(days) == 1:
        admin["day"] = days[0]
    else:
        admin.pop("day", None)
        admin["days"] = days


def week_of(day: int) -> int:
    return (day - 1) // 7 + 1


def fmt(x: float) -> float:
    return round(x, 4)


@dataclass(frozen=True)
class Fault:
    """One finding of the oracle: what the rule book says is wrong."""
    rule: str
    severity: str                # "error" | "warning" | "info"
    agent: str | None
    day: int | None
    text: str

    def __str__(self) -> str:
        where = f" ({self.agent}" + (f" d{self.day}" if self.day is not None else "") + ")" if self.agent else ""
        return f"{self.severity} {self.rule}{where}: {self.text}"


@dataclass
class Adm:
    """An administration as the rules read it (only built for well-formed administrations)."""
    index: int
    agent: str
    days: list[int]
    route: str
    level: tuple[float, str] | None          # stated doseLevel (value, unit)
    dose: float | None                       # mg (g converted); None when mL or absent
    dose_unit: str | None
    reduction: bool
    minutes: float | None
    raw: dict


def findings(order: dict, document=None) -> list[Fault]:
    """The oracle: every finding the rule book gives for this order (empty: a clean v2 order)."""
    return Reading(order, document).run()


def order_faults(order: dict, document=None) -> list[str]:
    """The oracle's findings as text (empty: nothing to report)."""
    return [str(f) for f in findings(order, document)]


class Reading:
    def __init__(self, order: dict, document=None):
        self.order, self.document = order, document
        self.out: list[Fault] = []

    def add(self, rule: str, agent: str | None, day: int | None, text: str, severity: str | None = None):
        self.out.append(Fault(rule, severity or severity_of(rule), agent, day, text))

    # -- the order format (order-format.md; rule book 2) ----------------------------------------
    def quantity(self, q, key: str, where: str, positive_rule: str | None = None) -> bool:
        """A quantity's shape; True when it is well formed."""
        if not isinstance(q, dict) or "value" not in q or "unit" not in q:
            self.add("quantity-incomplete", None, None, f"{where}: {key} needs a value and a unit")
            return False
        if not is_number(q["value"]):
            self.add("not-a-number", None, None, f"{where}: {key} value {q['value']!r} is not a number")
            return False
        if q["unit"] not in UNITS[key]:
            self.add("unit-not-allowed", None, None, f"{where}: {key} unit {q['unit']!r}")
            return False
        if positive_rule and q["value"] <= 0:
            self.add(positive_rule, None, None, f"{where}: {key} {q['value']} is not positive")
            return False
        return True

    def document_checks(self) -> list[Adm]:
        o = self.order
        for key in ("regimen", "cycle", "patient", "administrations"):
            if key not in o:
                self.add("order-missing-field", None, None, f"the order has no {key}")
        if "regimen" in o and o["regimen"] not in REGIMENS:
            self.add("unknown-regimen", None, None, f"regimen {o['regimen']!r}")
        if "cycle" in o:
            if not is_number(o["cycle"]):
                self.add("not-a-number", None, None, f"cycle {o['cycle']!r}")
            elif not is_whole(o["cycle"]):
                self.add("not-a-whole-number", None, None, f"cycle {o['cycle']!r}")
            elif o["cycle"] < 1:
                self.add("cycle-out-of-range", None, None, f"cycle {o['cycle']}")
        patient = o.get("patient", {})
        for key in PATIENT_QUANTITIES:
            if key in patient:
                self.quantity(patient[key], key, "patient", "patient-value-not-positive")
        if "age" in patient:
            if not is_number(patient["age"]):
                self.add("not-a-number", None, None, f"age {patient['age']!r}")
            elif not is_whole(patient["age"]):
                self.add("not-a-whole-number", None, None, f"age {patient['age']!r}")
            elif patient["age"] <= 0:
                self.add("patient-value-not-positive", None, None, f"age {patient['age']}")
        if "dialysis" in patient and not isinstance(patient["dialysis"], bool):
            self.add("not-a-boolean", None, None, f"dialysis {patient['dialysis']!r}")
        db = patient.get("doseBasis")
        if db is not None:
            for key in ("weight", "bsa"):
                if key in db:
                    self.quantity(db[key], key, "doseBasis", "patient-value-not-positive")
        adms = []
        for i, a in enumerate(o.get("administrations", [])):
            where = f"administration {i + 1}"
            ok = True
            for key in ("agent", "route"):
                if key not in a:
                    self.add("administration-missing-field", None, None, f"{where} has no {key}")
                    ok = False
            if "day" not in a and "days" not in a:
                self.add("administration-missing-field", None, None, f"{where} has no day")
                ok = False
            if "dose" not in a and "doseLevel" not in a:
                self.add("administration-missing-field", None, None, f"{where} has neither dose nor doseLevel")
                ok = False
            agent = a.get("agent")
            if "agent" in a and agent not in REGIMEN_AGENTS and agent not in SUPPORTIVE:
                self.add("unknown-agent", None, None, f"agent {agent!r}")
                ok = False
            for d in days_of(a):
                if not is_number(d):
                    self.add("not-a-number", agent, None, f"{where}: day {d!r}")
                    ok = False
                elif not is_whole(d):
                    self.add("not-a-whole-number", agent, None, f"{where}: day {d!r}")
                    ok = False
                elif not 1 <= d <= 28:
                    self.add("day-out-of-range", agent, int(d), f"{where}: day {d}")
                    ok = False
            for key in ("dose", "doseLevel", "infusionDuration"):
                if key in a:
                    ok = self.quantity(a[key], key, where) and ok
            if ok and "dose" in a:
                if a["dose"]["value"] <= 0:
                    self.add("dose-not-positive", agent, None, f"{where}: dose {a['dose']['value']}")
                    ok = False
                elif (a["dose"]["unit"] == "mL") != (agent == "sodium-chloride-0.9"):
                    self.add("dose-unit-wrong-kind", agent, None, f"{where}: {agent} in {a['dose']['unit']}")
                    ok = False
            if ok and a.get("route") not in ROUTES:
                ok = False
            if ok:
                dose = a.get("dose")
                adms.append(Adm(
                    i, agent, [int(d) for d in days_of(a)], a["route"],
                    (a["doseLevel"]["value"], a["doseLevel"]["unit"]) if "doseLevel" in a else None,
                    dose["value"] * TO_MG[dose["unit"]] if dose and dose["unit"] in TO_MG else None,
                    dose["unit"] if dose else None,
                    bool(isinstance(a.get("doseReduction"), dict) and str(a["doseReduction"].get("reason", "")).strip()),
                    a["infusionDuration"]["value"] * TO_MIN[a["infusionDuration"]["unit"]]
                    if "infusionDuration" in a else None, a))
        if self.document is not None:
            pid = patient.get("@id")
            for other in orders_of(self.document):
                theirs = other.get("patient", {}) if other is not o else {}
                if pid is not None and theirs.get("@id") == pid and any(
                        key in theirs and theirs[key] != value for key, value in patient.items()):
                    # Two values for one key (one order silent about a key is no disagreement).
                    self.add("patient-data-conflict", None, None, f"patient {pid} differs between orders")
                    break
        return adms

    # -- the clinical rules (2-6) ----------------------------------------------------------------
    def run(self) -> list[Fault]:
        adms = self.document_checks()
        if self.out:
            return self.out          # a malformed order: only the format findings are predicted
        o, patient = self.order, self.order["patient"]
        self.regimen, self.cycle, self.patient = o["regimen"], int(o["cycle"]), patient
        self.reg = REGIMENS[self.regimen]
        self.dosings = dosings(self.regimen, self.cycle, patient)
        self.adms = adms
        self.components = [a for a in adms if a.agent in self.reg.agents]
        self.covered = {d for a in adms for d in a.days}
        self.clinic = {d for a in self.components if a.route in ("IV", "SC") for d in a.days}
        self.on_day: dict[tuple[str, int], list[Adm]] = {}
        for a in adms:
            for d in a.days:
                self.on_day.setdefault((a.agent, d), []).append(a)
        self.holds = self.lab_holds()
        self.patient_data()
        self.premed = self.premedication_doses()
        for a in adms:
            self.administration(a)
        self.duplicates()
        self.interval()
        self.priming()
        self.split()
        self.omitted()
        self.dexamethasone_weeks()
        self.supportive_care()
        self.labs()
        self.consistency()
        if self.regimen == "D-KRd" and self.cycle > D_KRD_INDUCTION:
            self.add("beyond-induction-cycles", None, None, f"D-KRd cycle {self.cycle} > {D_KRD_INDUCTION}")
        return self.out

    def has(self, agent: str, day: int) -> bool:
        return bool(self.on_day.get((agent, day)))

    def agent_days(self, agent: str) -> set[int]:
        return {d for a in self.adms if a.agent == agent for d in a.days}

    # 2, 2.2: data a check needs.
    def patient_data(self):
        p = self.patient
        self.missing: set[str] = set()
        per_m2 = any(self.unit_of(a) == "mg/m2" for a in self.components)
        per_kg = [a for a in self.components if self.unit_of(a) == "mg/kg"]
        db = p.get("doseBasis")
        if db is not None:
            if "weight" not in db:
                self.missing.add("doseBasis.weight")
            if "weight" not in p:
                self.missing.add("weight")
            if per_m2 and "bsa" not in db:
                self.missing.add("doseBasis.bsa")
        if per_m2 and db is None and bsa(p) is None:
            self.missing.add("bsa or height and weight")
        if per_kg and weight_kg(p) is None and (db is None or any(a.agent == "isatuximab" for a in per_kg)):
            self.missing.add("weight")
        for what in sorted(self.missing):
            self.add("missing-patient-data", None, None, f"the patient has no {what}")

    def unit_of(self, a: Adm) -> str | None:
        """The unit the protocol doses this administration by (its stated level's, else the dosing's)."""
        if a.level is not None:
            return a.level[1]
        units = {x.unit for x in self.dosings if x.agent == a.agent and a.route in x.routes
                 and any(d in x.days for d in a.days)}
        if not units:
            units = {x.unit for x in self.dosings if x.agent == a.agent and a.route in x.routes}
        return units.pop() if len(units) == 1 else None

    # 5.2: which dexamethasone administrations are premedication doses.
    def premedication_doses(self) -> set[tuple[int, int]]:
        out = set()
        if self.reg.dex_exact_20:
            return out
        dex = [a for a in self.adms if a.agent == "dexamethasone"]
        for a in dex:
            amount = self.dex_amount(a)
            if amount is None or amount > PREMED_MAX:
                continue
            for d in a.days:
                trigger = any(self.has(x, d) for x in ("carfilzomib", "daratumumab", "isatuximab"))
                only = len(self.on_day[("dexamethasone", d)]) == 1
                week = week_of(d)
                regimen_dose_elsewhere = any(
                    (self.dex_amount(b) or 0) > PREMED_MAX and e != d and week_of(e) == week
                    for b in dex for e in b.days)
                if trigger and only and regimen_dose_elsewhere:
                    out.add((a.index, d))
        return out

    @staticmethod
    def dex_amount(a: Adm) -> float | None:
        if a.dose is not None:
            return a.dose
        if a.level is not None and a.level[1] == "mg":
            return a.level[0]
        return None

    def regimen_dex(self, day: int) -> list[Adm]:
        """Dexamethasone regimen doses on that day (not premedication doses)."""
        return [a for a in self.on_day.get(("dexamethasone", day), []) if (a.index, day) not in self.premed]

    # 2: one administration against its regimen.
    def administration(self, a: Adm):
        if a.agent in SUPPORTIVE:
            if a.route not in ALLOWED_ROUTES[a.agent]:
                self.add("route-not-allowed", a.agent, None, f"{a.agent} by {a.route}")
            return
        if a.agent not in self.reg.agents:
            self.add("agent-not-in-regimen", a.agent, None, f"{a.agent} is not a component of {self.regimen}")
            return
        if a.route not in ALLOWED_ROUTES[a.agent]:
            self.add("route-not-allowed", a.agent, None, f"{a.agent} by {a.route}")
            return
        if a.agent == "dexamethasone":
            self.dexamethasone(a)
        else:
            for d in a.days:
                self.level(a, d)
        if a.agent == "carfilzomib" and a.minutes is not None:
            minimum = self.reg.schedule.minutes
            if a.minutes < minimum - SLACK:
                self.add("infusion-too-short", a.agent, a.days[0], f"{a.minutes} min < {minimum} min")

    def below(self, a: Adm, day: int, text: str):
        if a.reduction and a.agent not in NEVER_REDUCED:
            self.add("dose-level-reduced", a.agent, day, text + " (documented reduction)")
        else:
            self.add("dose-level-below-protocol", a.agent, day, text)

    def level(self, a: Adm, day: int):
        on_day = [x for x in self.dosings if x.agent == a.agent and day in x.days]
        if not on_day:
            self.add("off-schedule", a.agent, day, f"{a.agent} day {day} in cycle {self.cycle}")
            return
        cands = [x for x in on_day if a.route in x.routes]
        if not cands:
            self.add("route-not-allowed", a.agent, day, f"{a.agent} by {a.route} on day {day}")
            return
        if a.level is not None:
            value, unit = a.level
            cands = [x for x in cands if x.unit == unit]
            if not cands:
                self.add("dose-level-unit-mismatch", a.agent, day, f"{a.agent} level in {unit}")
                return
            tol = 0.0
        else:
            units = {x.unit for x in cands}
            if len(units) != 1 or a.dose is None:
                return
            unit = units.pop()
            b = basis(a.agent, unit, self.patient)
            if b is None:
                return               # missing-patient-data already
            value, tol = a.dose / b, (0.0 if unit == "mg" else TOLERANCE)
        within = [x for x in cands if x.lo * (1 - tol) - SLACK <= value <= x.hi * (1 + tol) + SLACK]
        shown = f"{fmt(value)} {unit}"
        if within:
            if all(x.role == "warn" for x in within):
                self.add("beyond-labelled-duration", a.agent, day, f"{a.agent} in cycle {self.cycle}")
        elif value > max(x.hi for x in cands) * (1 + tol) + SLACK:
            self.add("dose-level-above-protocol", a.agent, day, f"{shown} above the protocol")
            return
        elif value < min(x.lo for x in cands) * (1 - tol) - SLACK:
            self.below(a, day, f"{shown} below the protocol")
            return
        else:
            self.add("dose-level-not-in-protocol", a.agent, day, f"{shown} is none of the protocol's levels")
            return
        if a.level is not None and a.dose is not None:
            b = basis(a.agent, unit, self.patient)
            if b is None:
                return
            expected = value * b
            if unit == "mg":
                if abs(a.dose - expected) > SLACK:
                    self.add("dose-amount-mismatch", a.agent, day, f"flat {a.dose} mg != {expected} mg")
            elif abs(a.dose - expected) > TOLERANCE * expected + SLACK:
                self.add("dose-amount-mismatch", a.agent, day, f"{a.dose} mg not within 5 % of {fmt(expected)} mg")

    def dexamethasone(self, a: Adm):
        allowed = self.reg.dex_days(self.regimen, self.cycle)
        if a.level is not None and a.level[1] != "mg":
            self.add("dose-level-unit-mismatch", a.agent, a.days[0], f"dexamethasone level in {a.level[1]}")
            return
        amount = self.dex_amount(a)
        for d in a.days:
            if d not in allowed:
                self.add("off-schedule", a.agent, d, f"dexamethasone day {d} not allowed in {self.regimen}")
                continue
            if a.level is not None and a.dose is not None and abs(a.dose - a.level[0]) > SLACK:
                self.add("dose-amount-mismatch", a.agent, d, f"flat {a.dose} mg != {a.level[0]} mg")
                continue
            lo, hi = (20, 20) if self.reg.dex_exact_20 else (20, 40)
            if amount > hi + SLACK:
                self.add("dose-level-above-protocol", a.agent, d, f"{amount} mg > {hi} mg")
            elif amount < lo - SLACK and (a.index, d) not in self.premed:
                self.below(a, d, f"{amount} mg < {lo} mg")

    # 2: the same regimen agent twice on a day.
    def duplicates(self):
        for (agent, day), adms in self.on_day.items():
            if agent in REGIMEN_AGENTS and len(adms) > 1:
                self.add("duplicate-administration", agent, day, f"{agent} twice on day {day}")

    # 5.1: every 48 h.
    def interval(self):
        for x in self.dosings:
            if x.every48:
                days = sorted(self.agent_days(x.agent))
                for d, e in zip(days, days[1:]):
                    if e == d + 1:
                        self.add("dose-interval-too-short", x.agent, e, f"{x.agent} on days {d} and {e}")

    # 3.1: priming.
    def escalated(self, a: Adm) -> bool:
        if a.level is not None:
            return a.level[1] == "mg/m2" and a.level[0] > 20 + SLACK
        b = basis("carfilzomib", "mg/m2", self.patient)
        return a.dose is not None and b is not None and a.dose > 20 * b * (1 + TOLERANCE) + SLACK

    def priming(self):
        self.priming_missing: set[int] = set()
        if self.cycle != 1:
            return
        ks = [a for a in self.components if a.agent == "carfilzomib" and a.route in ALLOWED_ROUTES["carfilzomib"]]
        escalated = [a for a in ks if self.escalated(a)]
        if not escalated:
            return
        prime = {d for x in self.dosings if x.priming for d in x.days}
        if not prime & self.covered:
            first = min(d for a in escalated for d in a.days)
            self.add("priming-not-in-order", "carfilzomib", first, "no priming day in the order")
            return
        for d in sorted(prime & self.covered):
            if not self.has("carfilzomib", d):
                self.priming_missing.add(d)
                self.add("priming-dose-missing", "carfilzomib", d, f"no carfilzomib on priming day {d}")

    # 5.3: the daratumumab split first dose (IV only), cycle 1 days 1 and 2.
    def split(self):
        halves = [x for x in self.dosings if x.role == "alternative"]
        if not halves:
            return
        half = halves[0]
        d1, d2 = sorted(half.days)
        full = [x for x in self.dosings if x.agent == half.agent and x.role == "expected" and d1 in x.days]

        def at(a: Adm, x: Dosing, day: int) -> bool:
            if a.route not in x.routes:
                return False
            if a.level is not None:
                return a.level[1] == x.unit and x.lo - SLACK <= a.level[0] <= x.hi + SLACK
            b = basis(a.agent, x.unit, self.patient)
            tol = 0.0 if x.unit == "mg" else TOLERANCE
            return a.dose is not None and b is not None and \
                x.lo * (1 - tol) - SLACK <= a.dose / b <= x.hi * (1 + tol) + SLACK

        def halves_on(day):
            return [a for a in self.on_day.get((half.agent, day), []) if at(a, half, day)]
        if halves_on(d2) and any(at(a, x, d1) for a in self.on_day.get((half.agent, d1), []) for x in full):
            self.add("daratumumab-split-dose", half.agent, d2, "a split half on day 2 after a full first dose")
        for day, other in ((d1, d2), (d2, d1)):
            if not halves_on(day) or self.has(half.agent, other):
                continue
            if other in self.covered:
                self.add("daratumumab-split-dose", half.agent, day, f"half a first dose: none on day {other}")
            else:
                self.add("split-dose-unconfirmed", half.agent, day, f"day {other} is not in the order")

    # 6.7: omitted doses.
    def omitted(self):
        for x in self.dosings:
            if x.role != "expected" or x.agent == "dexamethasone" or x.agent in self.holds:
                continue
            for d in sorted(x.days & self.clinic):
                if x.every48:
                    given = any(self.has(x.agent, e) for e in (d - 1, d, d + 1))
                else:
                    given = self.has(x.agent, d)
                if given or (x.agent == "carfilzomib" and d in self.priming_missing):
                    continue
                fault = Fault("dose-omitted", "warning", x.agent, d, f"{x.agent} not given on clinic day {d}")
                if fault not in self.out:
                    self.out.append(fault)
        if "dexamethasone" in self.holds:
            return
        allowed = self.reg.dex_days(self.regimen, self.cycle)
        for week in range(1, 5):
            days = sorted(d for d in allowed if week_of(d) == week)
            if not set(days) & self.clinic:
                continue
            if not any(self.regimen_dex(d) for d in range(7 * week - 6, 7 * week + 1)):
                self.add("dose-omitted", "dexamethasone", days[0], f"no dexamethasone regimen dose in week {week}")

    # 5.2: weekly total and age.
    def dexamethasone_weeks(self):
        totals = {w: 0.0 for w in range(1, 5)}
        for a in self.adms:
            if a.agent != "dexamethasone" or self.dex_amount(a) is None:
                continue
            for d in a.days:
                if (a.index, d) not in self.premed:
                    totals[week_of(d)] += self.dex_amount(a)
        age = self.patient.get("age")
        for w, total in totals.items():
            if not self.reg.dex_exact_20 and total > DEX_WEEKLY_MAX + SLACK:
                self.add("dexamethasone-weekly-total", "dexamethasone", 7 * w - 6, f"week {w}: {total} mg")
            if age is not None and age > AGE_OVER and total > AGE_WEEKLY_MAX + SLACK:
                self.add("age-weekly-dose-limit", "dexamethasone", 7 * w - 6, f"age {age}, week {w}: {total} mg")

    # 6.1-6.5: supportive care.
    def supportive_care(self):
        agents = {a.agent for a in self.adms}
        for d in sorted(self.agent_days("carfilzomib")) if self.cycle == 1 else []:
            bags = [a for a in self.on_day.get(("sodium-chloride-0.9", d), [])
                    if a.dose_unit == "mL" and a.route == "IV"
                    and HYDRATION_ML[0] - SLACK <= a.raw["dose"]["value"] <= HYDRATION_ML[1] + SLACK]
            if not bags:
                self.add("hydration-missing", "carfilzomib", d, f"no 250-500 mL hydration on day {d}")
            if not self.has("dexamethasone", d):
                self.add("carfilzomib-premedication-missing", "carfilzomib", d, f"no dexamethasone on day {d}")
        if "lenalidomide" in agents and not agents & {"aspirin", "enoxaparin"}:
            self.add("vte-prophylaxis-missing", "lenalidomide", None, "no aspirin or enoxaparin")
        for agent in ("daratumumab", "isatuximab"):
            for d in sorted(self.agent_days(agent)):
                classes = {"corticosteroid": bool(self.regimen_dex(d)) or self.has("methylprednisolone", d),
                           "antipyretic": self.has("acetaminophen", d),
                           "h1": self.has("diphenhydramine", d) or self.has("cetirizine", d)}
                if agent == "isatuximab":
                    classes["h2"] = self.has("famotidine", d)
                missing = sorted(c for c, ok in classes.items() if not ok)
                if missing:
                    fault = Fault("premedication-missing", "warning", agent, d, f"day {d}: no {', '.join(missing)}")
                    self.out.append(fault)
        if not agents & {"acyclovir", "valacyclovir"}:
            if "daratumumab" in agents:
                self.add("antiviral-prophylaxis-missing", None, None, "no antiviral with daratumumab", "warning")
            elif agents & {"isatuximab", "carfilzomib"}:
                self.add("antiviral-prophylaxis-missing", None, None, "no antiviral (consider)", "info")

    # 5.1, 6.6: lab holds and start counts.
    def lab_holds(self) -> set[str]:
        anc, plt = value_of(self.patient.get("neutrophils")), value_of(self.patient.get("platelets"))
        agents = {a.agent for a in self.components}
        holds = set()
        for agent, (anc_min, plt_min) in (("lenalidomide", LEN_HOLD), ("carfilzomib", K_HOLD)):
            if agent in agents and ((anc is not None and anc < anc_min) or (plt is not None and plt < plt_min)):
                holds.add(agent)
        return holds

    def labs(self):
        anc, plt = value_of(self.patient.get("neutrophils")), value_of(self.patient.get("platelets"))
        agents = {a.agent for a in self.components}
        for agent in sorted(self.holds):
            self.add("lab-hold", agent, None, f"{agent} held at neutrophils {anc}, platelets {plt}")

        def held(value, index):
            return any(value < limits[index] for agent, limits in (("lenalidomide", LEN_HOLD), ("carfilzomib", K_HOLD))
                       if agent in agents)
        low = [(name, v) for name, v, i in (("neutrophils", anc, 0), ("platelets", plt, 1))
               if v is not None and v < START_COUNTS[i] and not held(v, i)]
        if low and agents & MYELOSUPPRESSIVE:
            self.add("cycle-start-count-low", None, None, f"{low} below the counts to start a cycle")

    # 2.1, 2.2, 5.1: the patient's data against itself.
    def consistency(self):
        p = self.patient
        h, w = height_cm(p), weight_kg(p)
        if "bsa" in p and h is not None and w is not None:
            self.bsa_check(p["bsa"]["value"], mosteller(h, w), "bsa")
        db = p.get("doseBasis")
        if db is not None and "bsa" in db and "weight" in db and h is not None:
            self.bsa_check(db["bsa"]["value"], mosteller(h, kg(db["weight"])), "doseBasis.bsa")
        if db is not None and "weight" in db and w is not None:
            r = abs(w - kg(db["weight"])) / kg(db["weight"])
            used = set()
            for a in self.components:
                unit = self.unit_of(a)
                if a.agent == "carfilzomib" or a.agent == "cyclophosphamide" or (
                        a.agent == "daratumumab" and unit == "mg/kg"):
                    used.add(a.agent)
            for agent in sorted(used):
                if r > WEIGHT_CHANGE[agent] + SLACK:
                    self.add("weight-change-recalculate", agent, None, f"weight changed by {fmt(100 * r)} %")
        crcl = value_of(p.get("creatinineClearance"))
        if p.get("dialysis") is True and crcl is not None and crcl >= 30:
            self.add("dialysis-crcl-inconsistent", None, None, f"dialysis with CrCl {crcl}")

    def bsa_check(self, stated: float, m: float, what: str):
        r = abs(stated - m) / m
        if r > BSA_VIOLATION + SLACK:
            self.add("bsa-inconsistent", None, None, f"{what} {stated} vs Mosteller {fmt(m)} ({fmt(100 * r)} %)")
        elif r > BSA_WARN + SLACK:
            self.add("bsa-discrepancy", None, None, f"{what} {stated} vs Mosteller {fmt(m)} ({fmt(100 * r)} %)")


# --- Mutants --------------------------------------------------------------------------
#
# Each kind names the rule(s) it is made to produce (KIND_RULES); the oracle says which of them
# (and what else) the mutated order draws. A mutation the oracle finds nothing in is "within the
# protocol": it is kept aside, and the validator must find nothing in it either.

KIND_RULES = {
    "amount-over": {"dose-amount-mismatch", "dose-level-above-protocol"},
    "level-up": {"dose-level-above-protocol"},
    "level-down": {"dose-level-below-protocol"},
    "level-reduced": {"dose-level-reduced", "dose-level-below-protocol"},
    "level-between": {"dose-level-not-in-protocol"},
    "level-unit": {"dose-level-unit-mismatch"},
    "day-off-schedule": {"off-schedule"},
    "day-out-of-range": {"day-out-of-range"},
    "agent-swapped": {"agent-not-in-regimen"},
    "agent-unknown": {"unknown-agent"},
    "regimen-unknown": {"unknown-regimen"},
    "route-changed": {"route-not-allowed"},
    "priming-skipped": {"dose-level-above-protocol"},
    "priming-dropped": {"priming-dose-missing"},
    "priming-not-in-order": {"priming-not-in-order"},
    "bsa-cap-ignored": {"dose-amount-mismatch", "dose-level-above-protocol"},
    "dose-omitted": {"dose-omitted"},
    "dex-weekly-total": {"dexamethasone-weekly-total"},
    "age-weekly": {"age-weekly-dose-limit"},
    "split-dose": {"daratumumab-split-dose", "split-dose-unconfirmed"},
    "infusion-short": {"infusion-too-short"},
    "cycle-beyond": {"beyond-induction-cycles", "beyond-labelled-duration"},
    "cycle-out-of-range": {"cycle-out-of-range"},
    "hydration-dropped": {"hydration-missing"},
    "vte-dropped": {"vte-prophylaxis-missing"},
    "premedication-dropped": {"premedication-missing"},
    "carfilzomib-premedication-dropped": {"carfilzomib-premedication-missing"},
    "antiviral-dropped": {"antiviral-prophylaxis-missing"},
    "bsa-stated-off": {"bsa-inconsistent", "bsa-discrepancy"},
    "dose-basis": {"weight-change-recalculate", "missing-patient-data"},
    "dialysis": {"dose-level-above-protocol", "dose-level-below-protocol", "dialysis-crcl-inconsistent"},
    "renal-band": {"dose-level-above-protocol", "dose-interval-too-short"},
    "labs-low": {"lab-hold", "cycle-start-count-low"},
    "duplicate": {"duplicate-administration"},
    "dose-not-positive": {"dose-not-positive"},
    "patient-data-missing": {"missing-patient-data"},
    "field-missing": {"administration-missing-field", "order-missing-field"},
    "value-wrong-type": {"not-a-number", "not-a-whole-number", "not-a-boolean"},
    "quantity-broken": {"quantity-incomplete", "unit-not-allowed", "dose-unit-wrong-kind",
                        "patient-value-not-positive"},
    "patient-conflict": {"patient-data-conflict"},
}
KINDS = tuple(KIND_RULES)
FACTORS = (1.06, 1.10, 1.25, 1.5, 2.0)

# How many of each kind's candidates a default run checks (None: all). The sample takes one
# candidate of every (regimen, facet) before a second of any, round-robin over regimens.
# PROTOVALIDATE_MUTANTS=all checks every candidate.
DEFAULT_QUOTA = 8
QUOTAS = {kind: DEFAULT_QUOTA for kind in KINDS} | {
    "amount-over": 16, "level-up": 10, "day-off-schedule": 16, "route-changed": 12, "dose-omitted": 16,
    "split-dose": 10, "premedication-dropped": 12, "dose-basis": 12, "bsa-stated-off": 10, "dialysis": 10,
    "infusion-short": 9, "field-missing": 9, "value-wrong-type": 8, "quantity-broken": 9, "labs-low": 8,
}
WITHIN_QUOTA = 2          # mutations inside the protocol checked per kind (all of them with =all)

# "One step up" from the highest level the protocol allows, and one step down from the lowest
# (plausible slips; carfilzomib 70 and daratumumab SC 1800 have no labelled higher step).
STEP_UP = {("carfilzomib", 20): 27, ("carfilzomib", 27): 36, ("carfilzomib", 56): 70, ("carfilzomib", 70): 80,
           ("daratumumab", 16): 24, ("daratumumab", 8): 16, ("daratumumab", 1800): 2400,
           ("isatuximab", 10): 12, ("cyclophosphamide", 300): 350,
           ("lenalidomide", 25): 30, ("lenalidomide", 15): 20, ("lenalidomide", 10): 15, ("lenalidomide", 5): 10,
           ("dexamethasone", 40): 60, ("dexamethasone", 20): 40}
STEP_DOWN = {("carfilzomib", 20): 15, ("carfilzomib", 27): 20, ("carfilzomib", 36): 27, ("carfilzomib", 56): 45,
             ("carfilzomib", 70): 56, ("daratumumab", 16): 12, ("daratumumab", 8): 6, ("daratumumab", 1800): 1200,
             ("isatuximab", 10): 8, ("cyclophosphamide", 300): 250,
             ("lenalidomide", 25): 20, ("lenalidomide", 15): 10, ("lenalidomide", 10): 5, ("lenalidomide", 5): 2.5,
             ("dexamethasone", 20): 12}


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
    faults: list[Fault] = field(default_factory=list)   # the oracle's reading of the mutated order

    @property
    def data(self) -> bytes:
        return json.dumps(self.document, indent=1).encode("utf-8")

    @property
    def targets(self) -> set[tuple[str, str]]:
        """(rule, severity) of the oracle's findings that this kind is made to produce."""
        return {(f.rule, f.severity) for f in self.faults if f.rule in KIND_RULES[self.kind]}

    @property
    def expected(self) -> set[tuple[str, str]]:
        return {(f.rule, f.severity) for f in self.faults}

    @property
    def violation(self) -> bool:
        return any(f.severity == "error" for f in self.faults)

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


# --- Changes to a patient (made to every order of that patient) ----------------------------


def unit_for(order: dict, admin: dict) -> str | None:
    """The unit an administration is dosed by (its doseLevel's, else the protocol's for its days)."""
    if "doseLevel" in admin:
        return admin["doseLevel"]["unit"]
    r = Reading(order)
    r.regimen, r.cycle = order["regimen"], order["cycle"]
    r.dosings = dosings(r.regimen, r.cycle, order["patient"])
    a = Adm(0, admin["agent"], days_of(admin), admin["route"], None, None, None, False, None, admin)
    return r.unit_of(a)


def rescale(order: dict, old_patient: dict, uncapped=frozenset()) -> None:
    """Every per-m2 and per-kg amount moved to the order's new patient data, keeping its place in
    the tolerance band; carfilzomib administrations in ``uncapped`` computed on the uncapped BSA."""
    new_patient = order["patient"]
    for i, a in enumerate(order["administrations"]):
        if a["agent"] not in REGIMEN_AGENTS or "dose" not in a or a["dose"]["unit"] != "mg":
            continue
        unit = unit_for(order, a)
        if unit not in ("mg/m2", "mg/kg"):
            continue
        old = basis(a["agent"], unit, old_patient)
        new = basis(a["agent"], unit, new_patient)
        if i in uncapped:
            new = bsa(new_patient) if "doseBasis" not in new_patient else value_of(new_patient["doseBasis"]["bsa"])
        if old is not None and new is not None:
            a["dose"]["value"] = a["dose"]["value"] * new / old


def change_patient(document, order: dict, change, uncapped=frozenset()) -> None:
    """``change(patient)`` on the order's patient and on every other order of the same patient @id,
    with every amount recomputed for the changed patient (``uncapped``: only in ``order``)."""
    pid = order["patient"].get("@id")
    for o in orders_of(document):
        if o is order or (pid is not None and o.get("patient", {}).get("@id") == pid):
            old = copy.deepcopy(o["patient"])
            change(o["patient"])
            rescale(o, old, uncapped if o is order else frozenset())


HEAVY_BSA = 2.6


def make_heavy(patient: dict) -> None:
    """The patient's BSA made 2.6 m2: weight raised (height kept), a stated bsa set to match."""
    h, w = height_cm(patient), weight_kg(patient)
    if h is not None:
        new_kg = HEAVY_BSA ** 2 * 3600 / h
    else:
        new_kg = w * (HEAVY_BSA / patient["bsa"]["value"]) ** 2
    patient["weight"]["value"] = new_kg / TO_KG[patient["weight"]["unit"]]
    if "bsa" in patient:
        patient["bsa"]["value"] = HEAVY_BSA


def heavy_control(source: Source, index: int) -> Source:
    """The heavy patient with every dose correct (capped): must pass clean."""
    document = copy.deepcopy(source.document)
    change_patient(document, orders_of(document)[index], make_heavy)
    return Source(source.file, document)


def can_be_heavy(order: dict) -> bool:
    p = order["patient"]
    return "doseBasis" not in p and weight_kg(p) is not None and (height_cm(p) is not None or "bsa" in p) \
        and bsa(p) <= BSA_CAP * (1 + TOLERANCE)


# --- The generator ------------------------------------------------------------------------

EVERY_DAY = list(range(1, 29))


class Generator:
    """Makes the candidate mutants of one order; each kind's method yields
    (facet, change, mutate) with mutate(document, order) changing the copy."""

    def __init__(self, source: Source, index: int):
        self.source, self.index = source, index
        self.order = source.orders()[index]
        self.regimen, self.cycle = self.order["regimen"], self.order["cycle"]
        self.patient = self.order["patient"]
        self.reading = Reading(self.order, source.document)
        self.reading.run()
        self.admins = self.order["administrations"]

    def rng(self, *salt) -> random.Random:
        return random.Random(f"{self.source.file}#{self.index}#{salt}")

    def make(self, kind: str, facet: str, change: str, mutate) -> Mutant:
        document = json.loads(json.dumps(self.source.document))
        order = orders_of(document)[self.index]
        mutate(document, order)
        return Mutant(kind, self.source.file, self.index, self.order.get("@id", f"#{self.index}"),
                      self.regimen, facet, change, document, findings(order, document))

    def mutant(self, kind: str, facet: str, change: str, mutate) -> Mutant | None:
        """The mutant, or None when the mutation stays inside the protocol."""
        m = self.make(kind, facet, change, mutate)
        return m if m.faults else None

    # -- helpers --
    def regimen_admins(self):
        return [(i, a) for i, a in enumerate(self.admins) if a["agent"] in REGIMEN_AGENTS]

    def of_agent(self, *agents):
        return [(i, a) for i, a in enumerate(self.admins) if a["agent"] in agents]

    def adm(self, i) -> Adm | None:
        return next((x for x in self.reading.adms if x.index == i), None)

    def level_value(self, i, a) -> float | None:
        """The administration's level: stated, flat dose, or derived from the dose."""
        if "doseLevel" in a:
            return a["doseLevel"]["value"]
        unit = unit_for(self.order, a)
        b = basis(a["agent"], unit, self.patient) if unit else None
        return None if b is None or "dose" not in a else a["dose"]["value"] * TO_MG.get(a["dose"]["unit"], 1) / b

    def protocol_level(self, a) -> float | None:
        """The protocol level (hi) on the administration's first day by its route."""
        ds = [x for x in self.reading.dosings if x.agent == a["agent"] and a["route"] in x.routes
              and days_of(a)[0] in x.days and x.role != "alternative"] or \
             [x for x in self.reading.dosings if x.agent == a["agent"] and a["route"] in x.routes
              and days_of(a)[0] in x.days]
        return max((x.hi for x in ds), default=None)

    @staticmethod
    def drop_days(o, i, days):
        """Take ``days`` out of administration i (the administration goes when none is left)."""
        a = o["administrations"][i]
        left = [d for d in days_of(a) if d not in days]
        if left:
            set_days(a, left)
        else:
            o["administrations"][i] = None

    @staticmethod
    def tidy(o):
        o["administrations"] = [a for a in o["administrations"] if a is not None]

    def split_out(self, o, i, day):
        """Administration i's ``day`` as an administration of its own (returned); the original keeps the rest."""
        a = o["administrations"][i]
        single = copy.deepcopy(a)
        single.pop("days", None)
        single["day"] = day
        self.drop_days(o, i, [day])
        o["administrations"].append(single)
        self.tidy(o)
        return single

    def set_level(self, admin, new_level, old_level):
        """The administration at a new level, its dose scaled with it."""
        if "doseLevel" in admin:
            admin["doseLevel"]["value"] = new_level
        if "dose" in admin:
            admin["dose"]["value"] = fmt(admin["dose"]["value"] * new_level / old_level)

    def is_premed(self, i) -> bool:
        a = self.admins[i]
        return a["agent"] == "dexamethasone" and any((i, d) in self.reading.premed for d in days_of(a))

    # 1. amount 6 % to 100 % over -------------------------------------------------------------
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
                           f"{a['agent']} #{i} dose {a['dose']['value']} -> {new} mg (x{factor}, {variant})", mutate)

    # 2. dose level one step up -------------------------------------------------------------------
    def level_up(self):
        for i, a in self.regimen_admins():
            if self.is_premed(i) or "dose" not in a:
                continue
            hi = self.protocol_level(a)
            if hi is None or (a["agent"] == "carfilzomib" and hi == 20 and self.cycle == 1):
                continue                 # priming 20 -> escalated level: priming-skipped
            new_level = STEP_UP.get((a["agent"], hi))
            old = self.level_value(i, a)
            if new_level is None or old is None:
                continue

            def mutate(doc, o, i=i, new_level=new_level, old=old):
                self.set_level(o["administrations"][i], new_level, old)
            yield (f"{a['agent']} {hi}->{new_level}" + ("" if "doseLevel" in a else " dose-only"),
                   f"{a['agent']} #{i} level {fmt(old)} -> {new_level}, dose scaled", mutate)

    # 3, 4. dose level one step down, without and with a documented reduction -----------------------
    def _down(self, reason: bool):
        for i, a in self.regimen_admins():
            if self.is_premed(i) or "dose" not in a:
                continue
            ds = [x for x in self.reading.dosings if x.agent == a["agent"] and a["route"] in x.routes
                  and days_of(a)[0] in x.days]
            lo = min((x.lo for x in ds), default=None)
            new_level = STEP_DOWN.get((a["agent"], lo))
            old = self.level_value(i, a)
            if new_level is None or old is None:
                continue

            def mutate(doc, o, i=i, new_level=new_level, old=old):
                admin = o["administrations"][i]
                self.set_level(admin, new_level, old)
                if reason:
                    admin["doseReduction"] = {"reason": "grade 3 toxicity in the previous cycle"}
            yield (f"{a['agent']} {lo}->{new_level}" + (" with reason" if reason else ""),
                   f"{a['agent']} #{i} level {fmt(old)} -> {new_level}" + (", doseReduction" if reason else ""),
                   mutate)

    def level_down(self):
        yield from self._down(False)

    def level_reduced(self):
        yield from self._down(True)

    # 5. a daratumumab level between its levels (cycle 1 day 1 IV: 8 or 16 mg/kg) ---------------------
    def level_between(self):
        for i, a in self.of_agent("daratumumab"):
            if self.cycle != 1 or a["route"] != "IV" or 1 not in days_of(a) or "dose" not in a:
                continue
            old = self.level_value(i, a)
            for new_level in (12, 10):
                def mutate(doc, o, i=i, new_level=new_level, old=old):
                    single = self.split_out(o, i, 1) if len(days_of(o["administrations"][i])) > 1 \
                        else o["administrations"][i]
                    self.set_level(single, new_level, old)
                yield (f"daratumumab day 1 {new_level} mg/kg" + ("" if "doseLevel" in a else " dose-only"),
                       f"daratumumab #{i} day 1 at {new_level} mg/kg", mutate)

    # 6. a dose level in a unit the protocol does not dose the agent by -------------------------------
    def level_unit(self):
        wrong = {"mg/m2": "mg/kg", "mg/kg": "mg/m2", "mg": "mg/kg"}
        for i, a in self.regimen_admins():
            unit = unit_for(self.order, a)
            if unit not in wrong:
                continue
            level = a["doseLevel"]["value"] if "doseLevel" in a else fmt(self.level_value(i, a))

            def mutate(doc, o, i=i, unit=unit, level=level):
                o["administrations"][i]["doseLevel"] = {"value": level, "unit": wrong[unit]}
            yield f"{a['agent']} {unit}->{wrong[unit]}", f"{a['agent']} #{i} doseLevel unit -> {wrong[unit]}", mutate

    # 7. a day moved off schedule -------------------------------------------------------------------
    def day_off_schedule(self):
        for i, a in self.regimen_admins():
            agent = a["agent"]
            used = self.reading.agent_days(agent)
            listed = scheduled_days(self.regimen, agent, self.cycle, self.patient)
            free = [d for d in CYCLE_DAYS if d not in listed | used]
            # Days the agent's schedule lists in another cycle (KRd-27 cycle 13 day 8, dexamethasone
            # day 22 in Kd-weekly-70 cycle 10, daratumumab day 8 in cycle 3, day 2 in a weekly regimen).
            other = sorted({d for c in (1, 2, 3, 7, 10, 13, 19) for d in
                            scheduled_days(self.regimen, agent, c, self.patient)} & set(free)
                           | ({2, 9} & set(free) if agent == "dexamethasone" else set()))
            if not free:
                continue
            rng = self.rng("day", i)
            days = days_of(a)
            targets = [("first free day", free[0]), ("random free day", rng.choice(free))]
            targets += [("a day of another cycle's schedule", d) for d in other[:4]]
            for moved in sorted({days[0], days[-1], rng.choice(days)}):
                for how, target in targets:
                    def mutate(doc, o, i=i, moved=moved, target=target):
                        admin = o["administrations"][i]
                        set_days(admin, [target if d == moved else d for d in days_of(admin)])
                    yield f"{agent} to {how}", f"{agent} #{i} day {moved} -> {target}", mutate
            if agent == "dexamethasone" or (agent == "carfilzomib" and other):
                for how, target in targets:
                    def added(doc, o, i=i, target=target):
                        admin = o["administrations"][i]
                        set_days(admin, days_of(admin) + [target])
                    yield f"{agent} day added: {how}", f"{agent} #{i} day {target} added", added

    # 8. a day outside 1-28 ---------------------------------------------------------------------------
    def day_out_of_range(self):
        for i, a in self.regimen_admins()[:3]:
            for target in (0, 29, 35):
                def mutate(doc, o, i=i, target=target):
                    admin = o["administrations"][i]
                    set_days(admin, days_of(admin)[:-1] + [target])
                yield f"{a['agent']} day {target}", f"{a['agent']} #{i} last day -> {target}", mutate

    # 9. agent swapped for a regimen agent outside the regimen ---------------------------------------
    def agent_swapped(self):
        outside = [x for x in REGIMEN_AGENTS if x not in REGIMENS[self.regimen].agents]
        for i, a in self.regimen_admins():
            for other in outside:
                def mutate(doc, o, i=i, other=other):
                    o["administrations"][i]["agent"] = other
                yield f"{a['agent']}->{other}", f"{a['agent']} #{i} -> {other}", mutate

    # 10. an agent the knowledge base cannot know -------------------------------------------------------
    def agent_unknown(self):
        names = ("bortezomib", "Carfilzomib", "carfilzomib ", "pantoprazole", "ASPIRIN", "dexamethazone")
        rng = self.rng("unknown-agent")
        for i, a in enumerate(self.admins):
            name = rng.choice(names)

            def mutate(doc, o, i=i, name=name):
                o["administrations"][i]["agent"] = name
            yield f"{'regimen' if a['agent'] in REGIMEN_AGENTS else 'supportive'} agent unknown", \
                f"{a['agent']} #{i} -> {name!r}", mutate

    # 11. an unknown regimen -------------------------------------------------------------------------------
    def regimen_unknown(self):
        for name in ("krd", "VRd", "KRd-56", "Kd", self.regimen.lower(), self.regimen + " "):
            if name in REGIMENS:
                continue

            def mutate(doc, o, name=name):
                o["regimen"] = name
            yield "regimen unknown", f"regimen {self.regimen} -> {name!r}", mutate

    # 12. route changed (regimen and supportive agents) -------------------------------------------------
    def route_changed(self):
        for i, a in enumerate(self.admins):
            for route in (r for r in ROUTES if r not in ALLOWED_ROUTES[a["agent"]]):
                def mutate(doc, o, i=i, route=route):
                    o["administrations"][i]["route"] = route
                yield (f"{a['agent']} {a.get('route')}->{route}",
                       f"{a['agent']} #{i} route {a.get('route')} -> {route}", mutate)

    # 13. priming dose given at the escalated level ------------------------------------------------------
    def k_admins(self):
        ks = self.of_agent("carfilzomib")
        priming = [(i, a) for i, a in ks if self.adm(i) and not self.reading.escalated(self.adm(i))]
        escalated = [(i, a) for i, a in ks if self.adm(i) and self.reading.escalated(self.adm(i))]
        return priming, escalated

    def priming_skipped(self):
        if self.cycle != 1:
            return
        priming, escalated = self.k_admins()
        hi = REGIMENS[self.regimen].schedule.hi
        for p, pa in priming:
            e, ea = escalated[0] if escalated else (None, None)
            level = self.level_value(e, ea) if ea else hi
            old = self.level_value(p, pa)

            def raised(doc, o, p=p, level=level, old=old):
                self.set_level(o["administrations"][p], level, old)
            yield "priming at escalated level", f"carfilzomib #{p} priming -> {fmt(level)} mg/m2", raised

            def raised_dose_only(doc, o, p=p, level=level, old=old):
                admin = o["administrations"][p]
                self.set_level(admin, level, old)
                admin.pop("doseLevel", None)
            yield "priming dose escalated, no level", f"carfilzomib #{p} priming dose at {fmt(level)} mg/m2, " \
                  "doseLevel dropped", raised_dose_only
            if ea is None:
                continue

            def merged(doc, o, p=p, e=e):
                admins = o["administrations"]
                set_days(admins[e], days_of(admins[e]) + days_of(admins[p]))
                del admins[p]
            yield ("priming days merged into escalation",
                   f"carfilzomib priming #{p} removed, its days {days_of(pa)} given at the escalated level", merged)

    # 14. priming dose dropped (the day still in the order) --------------------------------------------
    def priming_dropped(self):
        if self.cycle != 1:
            return
        priming, escalated = self.k_admins()
        if not escalated:
            return
        for p, pa in priming:
            days = days_of(pa)
            for drop in [[d] for d in days] + ([days] if len(days) > 1 else []):
                def mutate(doc, o, p=p, drop=drop):
                    self.drop_days(o, p, drop)
                    self.tidy(o)
                yield f"priming day{'s' if len(drop) > 1 else ''} {drop} dropped", \
                    f"carfilzomib #{p} not given on {drop} (the day(s) still in the order)", mutate

    # 15. the order covers no priming day ----------------------------------------------------------------
    def priming_not_in_order(self):
        if self.cycle != 1:
            return
        _, escalated = self.k_admins()
        if not escalated:
            return

        def keep(predicate):
            def mutate(doc, o):
                for i, a in enumerate(o["administrations"]):
                    left = [d for d in days_of(a) if predicate(d)]
                    if left:
                        set_days(a, left)
                    else:
                        o["administrations"][i] = None
                self.tidy(o)
            return mutate
        yield "order from day 8", "every administration of days 1-7 taken out of the order", keep(lambda d: d >= 8)
        last = max(d for _, a in escalated for d in days_of(a))
        yield f"order of day {last} only", f"only day {last} kept (every agent)", keep(lambda d, last=last: d == last)

    # 16. BSA cap ignored ----------------------------------------------------------------------------------
    def bsa_cap_ignored(self):
        patient = self.patient
        true_bsa = bsa(patient)
        ks = self.of_agent("carfilzomib")
        if "doseBasis" in patient or true_bsa is None:
            return
        if true_bsa > BSA_CAP * (1 + TOLERANCE):
            for i, a in ks:
                for variant in (["keep-level", "drop-level"] if "doseLevel" in a else ["dose-only"]):
                    def mutate(doc, o, i=i, variant=variant):
                        admin = o["administrations"][i]
                        admin["dose"]["value"] = fmt(admin["dose"]["value"] * true_bsa / BSA_CAP)
                        if variant == "drop-level":
                            del admin["doseLevel"]
                    yield (f"patient above the cap, {variant}",
                           f"carfilzomib #{i} on the uncapped BSA {fmt(true_bsa)} ({variant})", mutate)
            return
        if not can_be_heavy(self.order):
            return
        for i, a in ks:
            def mutate(doc, o, i=i):
                change_patient(doc, o, make_heavy, uncapped={i})
            yield "patient made heavy", f"patient made heavy (BSA {HEAVY_BSA} m2, doses recomputed); " \
                  f"carfilzomib #{i} on the uncapped BSA", mutate

    # 17. a scheduled dose omitted on a clinic day ---------------------------------------------------------
    def dose_omitted(self):
        clinic = self.reading.clinic
        for i, a in self.regimen_admins():
            agent = a["agent"]
            if agent == "dexamethasone":
                continue
            for d in days_of(a):
                if d not in clinic:
                    continue
                def mutate(doc, o, i=i, d=d):
                    self.drop_days(o, i, [d])
                    self.tidy(o)
                yield f"{agent} dropped on a clinic day", f"{agent} #{i} not given on day {d}", mutate
        for agent in ("lenalidomide", "cyclophosphamide", "isatuximab", "daratumumab"):
            idx = [i for i, _ in self.of_agent(agent)]
            if idx:
                def whole(doc, o, idx=idx):
                    for i in idx:
                        o["administrations"][i] = None
                    self.tidy(o)
                yield f"{agent} left out", f"every {agent} administration taken out", whole
        # Dexamethasone: a week's regimen doses taken out.
        dex = self.of_agent("dexamethasone")
        for week in range(1, 5):
            days = {d for _, a in dex for d in days_of(a) if week_of(d) == week}
            if not days:
                continue
            def mutate(doc, o, days=days):
                for i, a in dex:
                    self.drop_days(o, i, days)
                self.tidy(o)
            yield "dexamethasone week left out", f"dexamethasone of week {week} (days {sorted(days)}) taken out", mutate

    # 18. dexamethasone above 40 mg in a week --------------------------------------------------------------
    def dex_weekly_total(self):
        allowed = REGIMENS[self.regimen].dex_days(self.regimen, self.cycle)
        dex = self.of_agent("dexamethasone")
        given = {d for _, a in dex for d in days_of(a)}
        for week in range(1, 5):
            week_days = [d for d in allowed if week_of(d) == week]
            regimen_dose = [d for i, a in dex for d in days_of(a) if week_of(d) == week and not self.is_premed(i)]
            if not regimen_dose:
                continue
            for d in week_days:
                if d in given:
                    continue
                for amount in (20, 40):
                    def added(doc, o, d=d, amount=amount, route=dex[0][1]["route"]):
                        o["administrations"].append({"agent": "dexamethasone", "day": d,
                                                     "dose": {"value": amount, "unit": "mg"}, "route": route})
                    yield f"dexamethasone {amount} mg added in a week", \
                        f"dexamethasone {amount} mg added on day {d} (week {week})", added
        for i, a in dex:
            amount = a.get("dose", {}).get("value")
            if amount is None:
                continue
            if self.is_premed(i) or amount == 20:
                new = 20 if self.is_premed(i) else 40
                for d in days_of(a):
                    def raised(doc, o, i=i, d=d, new=new):
                        single = self.split_out(o, i, d) if len(days_of(o["administrations"][i])) > 1 \
                            else o["administrations"][i]
                        single["dose"]["value"] = new
                        single.pop("doseLevel", None)
                    yield f"dexamethasone {amount} -> {new} mg on one day", \
                        f"dexamethasone #{i} day {d}: {amount} -> {new} mg", raised

    # 19. a patient older than 75 --------------------------------------------------------------------------
    def age_weekly(self):
        for age in (75, 76, 82):
            def mutate(doc, o, age=age):
                change_patient(doc, o, lambda p: p.__setitem__("age", age))
            yield f"age {age}", f"patient age {self.patient.get('age')} -> {age}", mutate

    # 20. the daratumumab split first dose ----------------------------------------------------------------
    def split_dose(self):
        if self.cycle != 1 or "daratumumab" not in REGIMENS[self.regimen].agents:
            return
        dara = self.of_agent("daratumumab")
        weight = weight_kg(self.patient)
        halves = [(i, a) for i, a in dara if a["route"] == "IV" and self.level_value(i, a) is not None
                  and abs(self.level_value(i, a) - 8) <= 8 * TOLERANCE and set(days_of(a)) & {1, 2}]
        full1 = [(i, a) for i, a in dara if 1 in days_of(a) and (i, a) not in halves]
        route = "IV"
        if halves:
            i, a = halves[0]
            if 1 in days_of(a):
                def full_day1(doc, o, i=i):
                    single = self.split_out(o, i, 1) if len(days_of(o["administrations"][i])) > 1 \
                        else o["administrations"][i]
                    self.set_level(single, 16, 8)
                yield "split: day 1 a full dose", f"daratumumab #{i} day 1 at 16 mg/kg, day 2 half kept", full_day1

                def sc_day1(doc, o, i=i):
                    single = self.split_out(o, i, 1) if len(days_of(o["administrations"][i])) > 1 \
                        else o["administrations"][i]
                    single.pop("doseLevel", None)
                    single["route"], single["dose"] = "SC", {"value": 1800, "unit": "mg"}
                yield "split: day 1 1800 mg SC", f"daratumumab #{i} day 1 as 1800 mg SC, day 2 half kept", sc_day1
            for day in (1, 2):
                if day not in days_of(a):
                    continue
                def drop_half(doc, o, i=i, day=day):
                    self.drop_days(o, i, [day])
                    self.tidy(o)
                yield f"split: day {day} half dropped", f"daratumumab #{i} not given on day {day} " \
                      "(the day still in the order)", drop_half

            def drop_day2(doc, o):
                for j, b in enumerate(o["administrations"]):
                    if 2 in days_of(b):
                        self.drop_days(o, j, [2])
                self.tidy(o)
            yield "split: day 2 not in the order", "every administration of day 2 taken out", drop_day2
        for i, a in full1:
            if a["route"] != "IV" or "dose" not in a:
                continue
            old = self.level_value(i, a)
            if old is None:
                continue

            def half_day1(doc, o, i=i, old=old):
                single = self.split_out(o, i, 1) if len(days_of(o["administrations"][i])) > 1 \
                    else o["administrations"][i]
                self.set_level(single, 8, old)
            yield "full dose: day 1 made a half", f"daratumumab #{i} day 1 at 8 mg/kg, no day-2 half", half_day1
        for i, a in full1:
            if weight is None:
                continue
            def half_day2(doc, o):
                o["administrations"].append({"agent": "daratumumab", "day": 2, "doseLevel": {"value": 8, "unit": "mg/kg"},
                                             "dose": {"value": round(8 * weight), "unit": "mg"}, "route": route})
            yield "full dose on day 1 and a half on day 2", "daratumumab 8 mg/kg added on day 2", half_day2

    # 21. carfilzomib infusion shorter than its schedule's minimum --------------------------------------
    def infusion_short(self):
        minimum = REGIMENS[self.regimen].schedule.minutes
        for i, a in self.of_agent("carfilzomib"):
            for q in ({"value": minimum - 1, "unit": "min"}, {"value": fmt((minimum - 5) / 60), "unit": "h"},
                      {"value": minimum, "unit": "min"}, {"value": minimum / 60, "unit": "h"},
                      {"value": 10, "unit": "min"}):
                def mutate(doc, o, i=i, q=q):
                    o["administrations"][i]["infusionDuration"] = dict(q)
                yield f"carfilzomib infusion {fmt(q['value'] * TO_MIN[q['unit']])} min as {q['unit']} " \
                      f"(minimum {minimum} min)", \
                    f"carfilzomib #{i} infusionDuration -> {q['value']} {q['unit']}", mutate

    # 22. a cycle beyond the induction (D-KRd) or the label (KRd-27) ----------------------------------------
    def cycle_beyond(self):
        # From a cycle with the same schedules (D-KRd from 7: daratumumab day 1 only; KRd-27 from 13).
        targets = {"D-KRd": (8, 9, 12) if self.cycle >= 7 else (),
                   "KRd-27": (18, 19, 24) if self.cycle >= 13 else ()}.get(self.regimen, ())
        for cycle in targets:
            if cycle == self.cycle:
                continue
            def mutate(doc, o, cycle=cycle):
                o["cycle"] = cycle
            yield f"{self.regimen} cycle {cycle}", f"cycle {self.cycle} -> {cycle}", mutate

    # 23. cycle < 1 -------------------------------------------------------------------------------------------
    def cycle_out_of_range(self):
        for cycle in (0, -1):
            def mutate(doc, o, cycle=cycle):
                o["cycle"] = cycle
            yield f"cycle {cycle}", f"cycle {self.cycle} -> {cycle}", mutate

    # 24. hydration missing on a cycle-1 carfilzomib day ------------------------------------------------
    def hydration_dropped(self):
        if self.cycle != 1:
            return
        k_days = sorted(self.reading.agent_days("carfilzomib"))
        for i, a in self.of_agent("sodium-chloride-0.9"):
            for d in days_of(a):
                if d not in k_days:
                    continue
                def mutate(doc, o, i=i, d=d):
                    self.drop_days(o, i, [d])
                    self.tidy(o)
                yield "hydration dropped on a carfilzomib day", f"sodium chloride #{i} not on day {d}", mutate
            for volume in (249, 501, 1000, 250, 500):
                def volume_mutate(doc, o, i=i, volume=volume):
                    o["administrations"][i]["dose"]["value"] = volume
                yield f"hydration {volume} mL", f"sodium chloride #{i} {a['dose']['value']} -> {volume} mL", volume_mutate

    # 25. VTE prophylaxis missing with lenalidomide ----------------------------------------------------
    def vte_dropped(self):
        idx = [i for i, _ in self.of_agent("aspirin", "enoxaparin")]
        if not idx:
            return

        def mutate(doc, o):
            for i in idx:
                o["administrations"][i] = None
            self.tidy(o)
        yield "VTE prophylaxis left out", "aspirin and enoxaparin taken out", mutate

        def swapped(doc, o):
            for i in idx:
                a = o["administrations"][i]
                a["agent"], a["route"], a["dose"] = ("enoxaparin", "SC", {"value": 40, "unit": "mg"}) \
                    if a["agent"] == "aspirin" else ("aspirin", "PO", {"value": 100, "unit": "mg"})
        yield "VTE prophylaxis swapped", "aspirin <-> enoxaparin", swapped

    # 26. anti-CD38 premedication: one class missing on one day --------------------------------------------
    def premedication_dropped(self):
        cd38_days = {d: agent for agent in ("daratumumab", "isatuximab")
                     for d in self.reading.agent_days(agent)}
        for d, agent in sorted(cd38_days.items()):
            for i, a in self.of_agent("acetaminophen", "diphenhydramine", "cetirizine", "famotidine",
                                      "methylprednisolone"):
                if d not in days_of(a):
                    continue
                def mutate(doc, o, i=i, d=d):
                    self.drop_days(o, i, [d])
                    self.tidy(o)
                yield f"{a['agent']} dropped on an {agent} day", f"{a['agent']} #{i} not on day {d}", mutate
            for i, a in self.of_agent("diphenhydramine"):
                if d in days_of(a):
                    def cetirizine(doc, o, i=i, d=d):
                        single = self.split_out(o, i, d) if len(days_of(o["administrations"][i])) > 1 \
                            else o["administrations"][i]
                        single["agent"], single["route"], single["dose"] = "cetirizine", "PO", {"value": 10, "unit": "mg"}
                    yield "H1 antihistamine: cetirizine instead", f"diphenhydramine day {d} -> cetirizine PO", cetirizine
            # The corticosteroid: the day's regimen dexamethasone made a premedication dose (4 mg).
            for i, a in self.of_agent("dexamethasone"):
                if d in days_of(a) and not self.is_premed(i):
                    def premed(doc, o, i=i, d=d):
                        single = self.split_out(o, i, d) if len(days_of(o["administrations"][i])) > 1 \
                            else o["administrations"][i]
                        single["dose"]["value"] = 4
                        single.pop("doseLevel", None)
                    yield f"corticosteroid: a 4 mg premedication dose on an {agent} day", \
                        f"dexamethasone #{i} day {d} -> 4 mg", premed

                    def methylpred(doc, o, i=i, d=d, route=a["route"]):
                        self.drop_days(o, i, [d])
                        self.tidy(o)
                        o["administrations"].append({"agent": "methylprednisolone", "day": d,
                                                     "dose": {"value": 100, "unit": "mg"}, "route": "IV"})
                    yield "corticosteroid: methylprednisolone instead", \
                        f"dexamethasone day {d} -> methylprednisolone 100 mg IV", methylpred

    # 27. no dexamethasone on a cycle-1 carfilzomib day -------------------------------------------------
    def carfilzomib_premedication_dropped(self):
        if self.cycle != 1:
            return
        k_days = self.reading.agent_days("carfilzomib")
        for i, a in self.of_agent("dexamethasone"):
            for d in days_of(a):
                if d in k_days:
                    def mutate(doc, o, i=i, d=d):
                        self.drop_days(o, i, [d])
                        self.tidy(o)
                    yield "dexamethasone dropped on a carfilzomib day" + (" (premedication)" if self.is_premed(i) else ""), \
                        f"dexamethasone #{i} not on day {d}", mutate

    # 28. no antiviral in the order -----------------------------------------------------------------------
    def antiviral_dropped(self):
        idx = [i for i, _ in self.of_agent("acyclovir", "valacyclovir")]
        if not idx:
            return

        def mutate(doc, o):
            for i in idx:
                o["administrations"][i] = None
            self.tidy(o)
        yield "antiviral left out" + (" (daratumumab)" if "daratumumab" in REGIMENS[self.regimen].agents else ""), \
            "acyclovir and valacyclovir taken out", mutate

        def one_day(doc, o):
            for n, i in enumerate(idx):
                a = o["administrations"][i]
                if n == 0:
                    set_days(a, [max(days_of(a))])
                    a["agent"], a["route"] = "acyclovir", "IV"
                else:
                    o["administrations"][i] = None
            self.tidy(o)
        yield "antiviral on one day only", "antiviral: one day of acyclovir IV", one_day

    # 29. a stated BSA off Mosteller (doses on the stated BSA) ------------------------------------------
    def bsa_stated_off(self):
        p = self.patient
        h, w = height_cm(p), weight_kg(p)
        if h is None or w is None:
            return
        db = p.get("doseBasis")
        for r in (0.04, 0.05, 0.07, 0.10, 0.12, -0.08, -0.15):
            if db is not None:
                m = mosteller(h, kg(db["weight"]))

                def mutate(doc, o, m=m, r=r):
                    change_patient(doc, o, lambda q: q["doseBasis"]["bsa"].__setitem__("value", m * (1 + r)))
                yield f"doseBasis.bsa {100 * r:+.0f} % off Mosteller", f"doseBasis.bsa -> {fmt(m * (1 + r))} m2", mutate
                continue
            m = mosteller(h, w)

            def mutate(doc, o, m=m, r=r):
                change_patient(doc, o, lambda q: q.__setitem__("bsa", {"value": m * (1 + r), "unit": "m2"}))
            yield f"bsa {100 * r:+.0f} % off Mosteller", f"bsa stated {fmt(m * (1 + r))} m2 (Mosteller {fmt(m)}); " \
                  "per-m2 doses on it", mutate

    # 30. a dose basis: weight drift, missing bsa --------------------------------------------------------
    def dose_basis(self):
        p = self.patient
        h, w = height_cm(p), weight_kg(p)
        if w is None or (h is None and "bsa" not in p):
            return
        db = p.get("doseBasis")
        if db is not None:
            wb = kg(db["weight"])
            for drift in (0.10, 0.15, 0.20, 0.25):
                def drifted(doc, o, drift=drift):
                    change_patient(doc, o, lambda q: q["weight"].__setitem__(
                        "value", wb * (1 - drift) / TO_KG[q["weight"]["unit"]]))
                yield f"current weight {100 * drift:.0f} % below the basis", \
                    f"weight -> {fmt(wb * (1 - drift))} kg (basis {wb} kg)", drifted

            def no_bsa(doc, o):
                change_patient(doc, o, lambda q: q["doseBasis"].pop("bsa"))
            yield "doseBasis without bsa", "doseBasis.bsa taken out", no_bsa

            def no_weight(doc, o):
                change_patient(doc, o, lambda q: q.pop("weight"))
            yield "doseBasis, no current weight", "patient weight taken out", no_weight
            return
        for drift in (0.05, 0.10, 0.15, 0.20, 0.25, -0.25):
            def with_basis(doc, o, drift=drift):
                def change(q):
                    wb = weight_kg(q) / (1 + drift)
                    hb = height_cm(q)
                    b = mosteller(hb, wb) if hb is not None else q["bsa"]["value"] * math.sqrt(wb / weight_kg(q))
                    q["doseBasis"] = {"weight": {"value": wb, "unit": "kg"}, "bsa": {"value": b, "unit": "m2"}}
                change_patient(doc, o, change)
            yield f"dose basis, weight drift {100 * drift:+.0f} %", f"doseBasis added: current weight " \
                  f"{100 * drift:+.0f} % from it, doses on the basis", with_basis

        def basis_no_bsa(doc, o):
            change_patient(doc, o, lambda q: q.__setitem__("doseBasis", {"weight": dict(q["weight"])}))
        yield "doseBasis without bsa", "doseBasis {weight} added, no bsa", basis_no_bsa

        # Isatuximab is dosed on the weight measured before each cycle, never on a basis (2.2).
        for i, a in self.of_agent("isatuximab"):
            if "dose" not in a:
                continue
            def isa_on_basis(doc, o, i=i):
                with_basis(doc, o, drift=0.15)
                o["administrations"][i]["dose"]["value"] /= 1.15
            yield "isatuximab on the basis weight", f"doseBasis added (weight +15 % since), isatuximab #{i} " \
                  "computed on the basis weight", isa_on_basis

    # 31. dialysis ------------------------------------------------------------------------------------------
    def dialysis(self):
        p = self.patient
        if p.get("dialysis") is True:
            for crcl in (45, 29, 60):
                def mutate(doc, o, crcl=crcl):
                    change_patient(doc, o, lambda q: q.__setitem__(
                        "creatinineClearance", {"value": crcl, "unit": "mL/min"}))
                yield f"dialysis with CrCl {crcl}", f"creatinineClearance {crcl} added to a dialysis patient", mutate

            def off(doc, o):
                change_patient(doc, o, lambda q: q.__setitem__("dialysis", False))
            yield "dialysis false, 5 mg kept", "dialysis true -> false", off
            return
        for value in (True, False):
            def mutate(doc, o, value=value):
                change_patient(doc, o, lambda q: q.__setitem__("dialysis", value))
            has_len = "lenalidomide" in REGIMENS[self.regimen].agents
            yield (f"dialysis {str(value).lower()}" + (" with lenalidomide" if has_len else "")
                   + (" and a CrCl" if "creatinineClearance" in p else "")), f"dialysis {value} added", mutate

    # 32. creatinine clearance changed (lenalidomide's renal band) ----------------------------------------
    def renal_band(self):
        if "lenalidomide" not in REGIMENS[self.regimen].agents or self.patient.get("dialysis") is True:
            return
        crcl = value_of(self.patient.get("creatinineClearance"))
        for new in (59, 45, 30, 29, 20):
            if crcl is not None and crcl == new:
                continue
            def mutate(doc, o, new=new):
                change_patient(doc, o, lambda q: q.__setitem__("creatinineClearance", {"value": new, "unit": "mL/min"}))
            yield f"CrCl -> {new}", f"creatinineClearance {crcl} -> {new}", mutate
        band, every48 = lenalidomide_band(self.patient)
        if every48:
            for i, a in self.of_agent("lenalidomide"):
                days = days_of(a)
                for d in days[:3]:
                    if d + 1 <= 21 and d + 1 not in days:
                        def mutate(doc, o, i=i, d=d):
                            admin = o["administrations"][i]
                            set_days(admin, days_of(admin) + [d + 1])
                        yield "every 48 h: a consecutive day added", f"lenalidomide #{i} day {d + 1} added", mutate

    # 33. low counts ---------------------------------------------------------------------------------------
    def labs_low(self):
        for anc, plt in ((0.9, None), (0.4, None), (None, 29), (None, 9), (None, 40), (0.7, 45), (1.0, 50)):
            def mutate(doc, o, anc=anc, plt=plt):
                def change(q):
                    if anc is not None:
                        q["neutrophils"] = {"value": anc, "unit": "10*9/L"}
                    if plt is not None:
                        q["platelets"] = {"value": plt, "unit": "10*9/L"}
                change_patient(doc, o, change)
            yield f"neutrophils {anc}, platelets {plt}", f"labs: neutrophils {anc}, platelets {plt}", mutate

    # 34. the same regimen agent twice on a day ----------------------------------------------------------
    def duplicate(self):
        for i, a in self.regimen_admins():
            d = days_of(a)[-1]

            def mutate(doc, o, i=i, d=d):
                single = copy.deepcopy(o["administrations"][i])
                single.pop("days", None)
                single["day"] = d
                o["administrations"].append(single)
            yield f"{a['agent']} twice on a day", f"{a['agent']} #{i} day {d} repeated", mutate

    # 35. a dose of 0 or below -------------------------------------------------------------------------
    def dose_not_positive(self):
        for i, a in enumerate(self.admins):
            if "dose" not in a:
                continue
            for value in (0, -a["dose"]["value"]):
                def mutate(doc, o, i=i, value=value):
                    o["administrations"][i]["dose"]["value"] = value
                yield f"{'regimen' if a['agent'] in REGIMEN_AGENTS else 'supportive'} dose {'0' if not value else '< 0'}", \
                    f"{a['agent']} #{i} dose -> {value}", mutate

    # 36. patient data a check needs, missing ----------------------------------------------------------
    def patient_data_missing(self):
        for key in ("weight", "height", "bsa"):
            if key in self.patient:
                def mutate(doc, o, key=key):
                    change_patient(doc, o, lambda q: q.pop(key))
                yield f"patient {key} taken out", f"patient {key} taken out", mutate

    # 37. a required key missing ---------------------------------------------------------------------
    def field_missing(self):
        for key in ("regimen", "cycle", "patient", "administrations"):
            def mutate(doc, o, key=key):
                del o[key]
            yield f"order without {key}", f"order key {key} taken out", mutate
        rng = self.rng("field")
        for i, a in enumerate(self.admins):
            keys = ["agent", "route", "day" if "day" in a else "days"] + [k for k in ("dose", "doseLevel") if k in a]
            key = rng.choice(keys)

            def mutate(doc, o, i=i, key=key):
                admin = o["administrations"][i]
                del admin[key]
                if key in ("dose", "doseLevel"):
                    admin.pop("doseLevel" if key == "dose" else "dose", None)
            yield f"administration without {key if key not in ('dose', 'doseLevel') else 'dose'}", \
                f"{a['agent']} #{i} without {key}", mutate

    # 38. a value of the wrong type ------------------------------------------------------------------
    def value_wrong_type(self):
        rng = self.rng("type")
        i = rng.randrange(len(self.admins))
        a = self.admins[i]
        changes = [
            ("dose as a string", lambda o: o["administrations"][i]["dose"].__setitem__("value", str(a["dose"]["value"])))
            if "dose" in a else None,
            ("day 1.5", lambda o: set_days(o["administrations"][i], days_of(o["administrations"][i])[:-1] + [1.5])),
            ("cycle 1.5", lambda o: o.__setitem__("cycle", self.cycle + 0.5)),
            ("cycle as a string", lambda o: o.__setitem__("cycle", str(self.cycle))),
        ]
        patient_changes = [
            ("age 64.5", lambda p: p.__setitem__("age", 64.5)),
            ("age as a string", lambda p: p.__setitem__("age", str(p.get("age", 64)))),
            ("weight as a string", lambda p: p["weight"].__setitem__("value", str(p["weight"]["value"])))
            if "weight" in self.patient else None,
            ("dialysis as a string", lambda p: p.__setitem__("dialysis", "yes")),
            ("dialysis 1", lambda p: p.__setitem__("dialysis", 1)),
        ]
        for facet, change in filter(None, patient_changes):
            def mutate(doc, o, change=change):
                change_patient(doc, o, change)
            yield facet, facet, mutate
        for facet, change in filter(None, changes):
            def mutate(doc, o, change=change):
                change(o)
            yield facet, facet + f" ({a['agent']} #{i})" if "dose" in facet or "day" in facet else facet, mutate

    # 39. a quantity broken ------------------------------------------------------------------------
    def quantity_broken(self):
        rng = self.rng("quantity")
        regimen_i = [i for i, _ in self.regimen_admins()]
        i = rng.choice(regimen_i)
        a = self.admins[i]
        changes = [
            ("dose without unit", lambda o: o["administrations"][i]["dose"].pop("unit")) if "dose" in a else None,
            ("dose without value", lambda o: o["administrations"][i]["dose"].pop("value")) if "dose" in a else None,
            ("dose in ug", lambda o: o["administrations"][i]["dose"].__setitem__("unit", "ug")) if "dose" in a else None,
            ("regimen agent dose in mL", lambda o: o["administrations"][i]["dose"].__setitem__("unit", "mL"))
            if "dose" in a else None,
            ("infusion in s", lambda o: o["administrations"][i].__setitem__("infusionDuration", {"value": 1800, "unit": "s"})),
        ]
        for j, b in self.of_agent("sodium-chloride-0.9")[:1]:
            changes.append(("hydration in mg", lambda o, j=j: o["administrations"][j]["dose"].__setitem__("unit", "mg")))
        for facet, change in filter(None, changes):
            def mutate(doc, o, change=change):
                change(o)
            yield facet, f"{facet} ({a['agent']} #{i})", mutate
        patient_changes = [
            ("weight in lb", lambda p: p["weight"].__setitem__("unit", "lb")) if "weight" in self.patient else None,
            ("weight 0", lambda p: p["weight"].__setitem__("value", 0)) if "weight" in self.patient else None,
            ("creatinine clearance -5", lambda p: p.__setitem__("creatinineClearance", {"value": -5, "unit": "mL/min"})),
            ("platelets without unit", lambda p: p.__setitem__("platelets", {"value": 150})),
        ]
        for facet, change in filter(None, patient_changes):
            def mutate(doc, o, change=change):
                change_patient(doc, o, change)
            yield facet, facet, mutate

    # 40. two orders of one patient disagree about the patient -------------------------------------------
    def patient_conflict(self):
        pid = self.patient.get("@id")
        others = [o for o in self.source.orders() if o is not self.order and o.get("patient", {}).get("@id") == pid]
        if pid is None or not others:
            return
        for key, change in (("age", lambda p: p.__setitem__("age", p.get("age", 60) + 1)),
                            ("height", lambda p: p["height"].__setitem__("value", p["height"]["value"] + 1))
                            if "height" in self.patient else None):
            def mutate(doc, o, change=change):
                change(o["patient"])
            yield f"patient {key} differs from the other order", f"patient {key} changed in this order only", mutate


@dataclass
class Candidate:
    """A mutation not yet made: the oracle runs on it only when it is picked."""
    kind: str
    generator: "Generator"
    facet: str
    change: str
    mutate: object = field(repr=False)

    @property
    def regimen(self) -> str:
        return self.generator.regimen

    def make(self) -> Mutant:
        """The mutant (its ``faults`` empty when the mutation stays inside the protocol)."""
        return self.generator.make(self.kind, self.facet, self.change, self.mutate)


def clean_orders(sources: list[Source]):
    """(source, index) of every order the oracle finds nothing in: the orders that are mutated
    (an order of valid/ with a finding fails the guard test and is not mutated)."""
    for source in sources:
        for index, order in enumerate(source.orders()):
            if order.get("regimen") in REGIMENS and not findings(order, source.document):
                yield source, index


def candidates(sources: list[Source], kinds=KINDS) -> list[Candidate]:
    out = []
    for source, index in clean_orders(sources):
        g = Generator(source, index)
        for kind in kinds:
            out += [Candidate(kind, g, facet, change, mutate)
                    for facet, change, mutate in getattr(g, kind.replace("-", "_"))()]
    return out


def select(cands: list[Candidate], quotas: dict[str, int | None] | None, within_quota: int | None = 2,
           seed: str = "protovalidate") -> tuple[list[Mutant], list[Mutant]]:
    """Mutants of each kind up to its quota (None, or quotas None: every candidate), and up to
    ``within_quota`` mutations of each kind that stay inside the protocol. Deterministic: each
    round takes one candidate of every facet of the kind (so every sort of change is tried once
    before any twice), each facet going through the regimens in turn."""
    mutants, within = [], []
    for kind in KINDS:
        pool = [c for c in cands if c.kind == kind]
        quota = None if quotas is None else quotas.get(kind)
        if quota is None:
            made = [c.make() for c in pool]
            mutants += [m for m in made if m.faults]
            within += [m for m in made if not m.faults][:within_quota]
            continue
        rng = random.Random(f"{seed}#{kind}")
        queues = []
        facets = sorted({c.facet for c in pool})
        rng.shuffle(facets)
        for n, facet in enumerate(facets):
            by_regimen: dict[str, list[Candidate]] = {}
            for c in pool:
                if c.facet == facet:
                    by_regimen.setdefault(c.regimen, []).append(c)
            regimens = sorted(by_regimen)
            rng.shuffle(regimens)
            regimens = regimens[n % len(regimens):] + regimens[:n % len(regimens)]
            for members in by_regimen.values():
                rng.shuffle(members)
            longest = max(map(len, by_regimen.values()))
            queues.append([by_regimen[r][k] for k in range(longest) for r in regimens if k < len(by_regimen[r])])
        chosen, inside = [], []
        while len(chosen) < quota and any(queues):
            for queue in queues:
                if queue and len(chosen) < quota:
                    m = queue.pop(0).make()
                    if m.faults:
                        chosen.append(m)
                    elif within_quota is None or len(inside) < within_quota:
                        inside.append(m)
        mutants += chosen
        within += inside
    return mutants, within


def generate(sources: list[Source], kinds=KINDS) -> tuple[list[Mutant], list[Mutant]]:
    """Every candidate made: all mutants, and every mutation the oracle found still inside the protocol."""
    return select(candidates(sources, kinds), None, None)
