"""The project's FHIR definitions (docs/fhir.md, 'Project definitions'): src/chemo_protovalidate/read/fhir/definitions/.

Each file is a FHIR R4 (4.0.1) resource in JSON: one StructureDefinition per project extension, and the
CodeSystems agent, rule and override-reason. The CodeSystems follow what they name: an agent the knowledge
base gains, a rule `protovalidate --list-rules` or read/fhir/rules.json gains, fails here until its code
is added.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, URIRef

from chemo_protovalidate.check.knowledge import KnowledgeBase
from chemo_protovalidate.read.fhir import fhir_rules
from conftest import ROOT

DEFINITIONS = ROOT / "src" / "chemo_protovalidate" / "read" / "fhir" / "definitions"
BASE = "https://w3id.org/protovalidate/fhir"
PV = "https://w3id.org/protovalidate/ontology#"
EXECUTABLE = shutil.which("protovalidate", path=str(Path(sys.executable).parent)) or "protovalidate"
ORDERS = ["RequestGroup", "MedicationRequest"]

# docs/fhir.md 5.1, as data: where each extension goes, at most how often, and its value: value[x]
# types, or sub-extensions (name: (min, max, value type)) and no value[x].
EXTENSIONS = {
    "regimen": (ORDERS, "1", ["code"]),
    "cycle-number": (ORDERS, "1", ["integer"]),
    "cycle-days": (["MedicationRequest"], "1", {"day": (1, "*", "integer")}),
    "dose-reduction-reason": (["MedicationRequest"], "1", ["string", "CodeableConcept"]),
    "dialysis": (ORDERS, "1", ["boolean"]),
    "dose-basis": (ORDERS, "1", {"weight": (0, "1", "Quantity"), "bsa": (0, "1", "Quantity")}),
    "source-file": (["OperationOutcome"], "1", ["string"]),
    "knowledge-base": (["OperationOutcome"], "1", ["string"]),
}
# cds-hooks.md 5.5: the override reasons, in the order of every card, with their display.
OVERRIDE_REASONS = [
    ("documented-dose-reduction", "Dose reduction documented in the record"),
    ("protocol-deviation-approved", "Protocol deviation approved"),
    ("clinical-trial", "Dosed per a clinical trial protocol"),
    ("patient-data-incorrect", "The patient data used by the check are wrong"),
    ("checked-manually", "Checked by a pharmacist"),
]
CODE_SYSTEMS = ("agent", "rule", "override-reason")
PUBLICATION_STATUS = {"draft", "active", "retired", "unknown"}
# R4 4.0.1: the elements each resource requires (1..1), beyond resourceType; and the CodeSystem's
# content codes and a StructureDefinition's kinds.
REQUIRED = {"StructureDefinition": ("url", "name", "status", "kind", "abstract", "type"),
            "CodeSystem": ("status", "content")}
CONTENT = {"not-present", "example", "fragment", "complete", "supplement"}
KINDS = {"primitive-type", "complex-type", "resource", "logical"}
NAME = re.compile(r"^[A-Z]([A-Za-z0-9_]){0,254}$")  # sdf-0 / csd-0: a name a computer can use
ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _problems(name: str, text: str) -> list[str]:
    """What makes a definition file not a FHIR R4 definition of this project: [] when it is one."""
    try:
        resource = json.loads(text)
    except json.JSONDecodeError as error:
        return [f"{name}: not JSON ({error})"]
    if not isinstance(resource, dict):
        return [f"{name}: a JSON {type(resource).__name__}, not a resource object"]
    kind = resource.get("resourceType")
    if kind not in REQUIRED:
        return [f"{name}: resourceType {kind!r}, not StructureDefinition or CodeSystem"]
    found = [f"{name}: {key} missing (R4 requires it)" for key in REQUIRED[kind] if key not in resource]
    rid = resource.get("id")
    if not isinstance(rid, str) or not ID.match(rid) or name != f"{kind}-{rid}.json":
        found.append(f"{name}: id {rid!r} does not name the file ({kind}-{{id}}.json)")
    if resource.get("url") != f"{BASE}/{kind}/{rid}":
        found.append(f"{name}: url {resource.get('url')!r}, not {BASE}/{kind}/{rid}")
    if resource.get("status") not in PUBLICATION_STATUS:
        found.append(f"{name}: status {resource.get('status')!r} is not a PublicationStatus")
    if not isinstance(resource.get("name"), str) or not NAME.match(resource["name"]):
        found.append(f"{name}: name {resource.get('name')!r} is no computer-usable name")
    if kind == "StructureDefinition":
        found += _structure_problems(name, resource)
    else:
        found += _code_system_problems(name, resource)
    found += [f"{name}: {path} is an empty {what}" for path, what in _empties(resource)]
    return found


def _structure_problems(name: str, sd: dict) -> list[str]:
    found = []
    expected = {"fhirVersion": "4.0.1", "kind": "complex-type", "abstract": False, "type": "Extension",
                "derivation": "constraint", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension"}
    found += [f"{name}: {key} is {sd.get(key)!r}, not {value!r}" for key, value in expected.items()
              if sd.get(key) != value]
    context = sd.get("context")
    if not isinstance(context, list) or not context or not all(
            isinstance(c, dict) and c.get("type") == "element" and isinstance(c.get("expression"), str)
            for c in context):
        found.append(f"{name}: an extension needs its context, a list of element contexts (sdf-5)")
    elements = sd.get("differential", {}).get("element")
    if not isinstance(elements, list) or not elements:
        return found + [f"{name}: no differential.element"]
    ids = [e.get("id") for e in elements]
    if len(ids) != len(set(ids)):
        found.append(f"{name}: an element id twice")
    for element in elements:
        path = element.get("path")
        if not isinstance(path, str) or not path.startswith("Extension") or re.sub(r":[^.]+", "", element.get(
                "id", "")) != path:
            found.append(f"{name}: element {element.get('id')!r} has path {path!r}")
    if ids[0] != "Extension":
        found.append(f"{name}: the first element is {ids[0]!r}, not the Extension itself")
    return found


def _code_system_problems(name: str, cs: dict) -> list[str]:
    found = []
    if cs.get("content") not in CONTENT:
        found.append(f"{name}: content {cs.get('content')!r} is not a CodeSystemContentMode")
    concepts = cs.get("concept")
    if not isinstance(concepts, list) or not all(isinstance(c, dict) and isinstance(c.get("code"), str)
                                                 for c in concepts):
        return found + [f"{name}: concept is not a list of concepts with codes"]
    codes = [c["code"] for c in concepts]
    if len(codes) != len(set(codes)):
        found.append(f"{name}: a code twice")
    if cs.get("count") != len(codes):
        found.append(f"{name}: count {cs.get('count')!r}, but {len(codes)} concepts")
    if cs.get("caseSensitive") is not True:
        found.append(f"{name}: the project's codes are case-sensitive (caseSensitive true)")
    return found


def _empties(value, path: str = ""):
    """FHIR JSON has no empty object, array or string."""
    if value in ({}, [], ""):
        yield path or "the resource", type(value).__name__
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _empties(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _empties(item, f"{path}[{index}]")


def _load(kind: str, name: str) -> dict:
    return json.loads((DEFINITIONS / f"{kind}-{name}.json").read_text("utf-8"))


def _codes(name: str) -> list[str]:
    return [c["code"] for c in _load("CodeSystem", name)["concept"]]


# --- the files ---------------------------------------------------------------------------------------


def test_exactly_the_definitions_of_the_contract():
    expected = {f"StructureDefinition-{n}.json" for n in EXTENSIONS} | {f"CodeSystem-{n}.json" for n in CODE_SYSTEMS}
    assert {p.name for p in DEFINITIONS.iterdir() if p.suffix == ".json"} == expected


def test_the_definitions_ship_in_the_package():
    shipped = resources.files("chemo_protovalidate.read.fhir") / "definitions"
    assert {p.name for p in shipped.iterdir() if p.name.endswith(".json")} == {
        p.name for p in DEFINITIONS.glob("*.json")}
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    assert re.search(r'"chemo_protovalidate\.read\.fhir" = \[[^\]]*"definitions/\*\.json"', pyproject)


@pytest.mark.parametrize("path", sorted(DEFINITIONS.glob("*.json")), ids=lambda p: p.name)
def test_each_definition_is_a_fhir_r4_resource_of_the_right_shape(path):
    assert _problems(path.name, path.read_text("utf-8")) == []


@pytest.mark.parametrize("broken, why", [
    ("{", "not JSON"),
    ("[]", "not a resource object"),
    ('{"resourceType": "ValueSet"}', "resourceType"),
    ("DROP status", "status missing"),
    ("DROP content", "content missing"),
    ("SET status=final", "not a PublicationStatus"),
    ("SET url=https://example.org/CodeSystem/agent", "url"),
    ("SET name=agent codes", "computer-usable name"),
    ("SET count=1", "count"),
    ("SET concept=[]", "empty"),
])
def test_the_shape_check_finds_a_broken_definition(broken, why):
    """The check above can fail: each break of a good file is found, and said."""
    resource = _load("CodeSystem", "agent")
    if broken.startswith("DROP "):
        del resource[broken[5:]]
    elif broken.startswith("SET "):
        key, value = broken[4:].split("=", 1)
        resource[key] = json.loads(value) if value.startswith(("[", "{")) or value.isdigit() else value
    text = json.dumps(resource) if broken.startswith(("DROP", "SET")) else broken
    problems = _problems("CodeSystem-agent.json", text)
    assert any(why in p for p in problems), problems


@pytest.mark.parametrize("broken, why", [
    ("kind", "kind"), ("derivation", "derivation"), ("baseDefinition", "baseDefinition"),
    ("context", "context"), ("differential", "differential"), ("abstract", "abstract missing"),
])
def test_the_shape_check_finds_a_broken_structure_definition(broken, why):
    resource = _load("StructureDefinition", "regimen")
    del resource[broken]
    problems = _problems("StructureDefinition-regimen.json", json.dumps(resource))
    assert any(why in p for p in problems), problems


# --- the extensions (5.1) ----------------------------------------------------------------------------


def _elements(sd: dict) -> dict[str, dict]:
    return {e["id"]: e for e in sd["differential"]["element"]}


@pytest.mark.parametrize("name", sorted(EXTENSIONS))
def test_each_extension_says_where_it_goes_how_often_and_what_it_holds(name):
    contexts, maximum, value = EXTENSIONS[name]
    sd = _load("StructureDefinition", name)
    url = f"{BASE}/StructureDefinition/{name}"
    assert sd["url"] == url
    assert [c["expression"] for c in sd["context"]] == contexts
    elements = _elements(sd)
    assert elements["Extension"]["max"] == maximum
    assert elements["Extension.url"]["fixedUri"] == url
    if isinstance(value, list):
        assert [t["code"] for t in elements["Extension.value[x]"]["type"]] == value
        assert elements["Extension.value[x]"]["min"] == 1
        assert elements["Extension.extension"]["max"] == "0", "a simple extension has no sub-extension"
        return
    assert elements["Extension.value[x]"]["max"] == "0", "a complex extension has no value[x]"
    assert elements["Extension.extension"]["slicing"]["rules"] == "closed", "an unknown sub-extension is an error"
    slices = {e["sliceName"]: e for e in elements.values() if "sliceName" in e}
    assert set(slices) == set(value)
    for sub, (low, high, kind) in value.items():
        assert (slices[sub]["min"], slices[sub]["max"]) == (low, high), sub
        assert elements[f"Extension.extension:{sub}.url"]["fixedUri"] == sub
        assert [t["code"] for t in elements[f"Extension.extension:{sub}.value[x]"]["type"]] == [kind]


# --- the CodeSystems (5.2) ---------------------------------------------------------------------------


def _agents() -> dict[str, str]:
    """Every agent of the knowledge base, regimen and supportive: identifier -> label."""
    kb = KnowledgeBase.load()
    return {str(kb.graph.value(node, URIRef(PV + "identifier"))): str(kb.graph.value(node, RDFS.label))
            for cls in ("Agent", "SupportiveAgent") for node in kb.graph.subjects(RDF.type, URIRef(PV + cls))}


def test_the_agent_code_system_holds_every_agent_of_the_knowledge_base():
    agents = _agents()
    assert len(agents) > 10, "the knowledge base gave no agents: the comparison would be empty"
    concepts = _load("CodeSystem", "agent")["concept"]
    assert {c["code"] for c in concepts} == set(agents), "agents without a code, or codes without an agent"
    assert {c["code"]: c["display"] for c in concepts} == agents


def _listed_rules() -> set[str]:
    done = subprocess.run([EXECUTABLE, "--list-rules"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return {line.split("\t")[0] for line in done.stdout.splitlines() if line.strip()}


def test_the_rule_code_system_holds_every_rule():
    rules = _listed_rules() | set(fhir_rules())
    assert {"dose-amount-mismatch", "not-json", "fhir-cycle-missing"} <= rules
    codes = set(_codes("rule"))
    assert not rules - codes, f"rules the CodeSystem lacks: {sorted(rules - codes)}"
    assert not codes - rules, f"codes no rule has: {sorted(codes - rules)}"


def test_the_override_reasons_of_the_service_in_their_order():
    concepts = _load("CodeSystem", "override-reason")["concept"]
    assert [(c["code"], c["display"]) for c in concepts] == OVERRIDE_REASONS


@pytest.mark.parametrize("name", CODE_SYSTEMS)
def test_codes_are_sorted_or_in_the_contracts_order(name):
    codes = _codes(name)
    assert codes == (sorted(codes) if name != "override-reason" else [c for c, _ in OVERRIDE_REASONS])
