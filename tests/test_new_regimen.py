"""A new regimen is a Turtle file: no Python changes, its orders are checked like any other."""

from __future__ import annotations

import json

from chemo_protovalidate.check.knowledge import KnowledgeBase
from chemo_protovalidate.check.pipeline import Pipeline

# A made-up regimen, for the mechanism only: carfilzomib weekly 56 (the shared
# dosings) with cyclophosphamide 500 mg flat on day 1.
REGIMEN = """
@prefix pv: <https://w3id.org/protovalidate/ontology#> .
@prefix kb: <https://w3id.org/protovalidate/kb/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dct: <http://purl.org/dc/terms/> .
kb:regimen-Test-KCy a pv:Regimen ; pv:identifier "Test-KCy" ; rdfs:label "test regimen" ;
    pv:cycleLength 28 ; pv:component kb:Test-KCy-carfilzomib , kb:Test-KCy-cyclophosphamide ;
    dct:source kb:source-rule-book .
kb:Test-KCy-carfilzomib a pv:RegimenComponent ; pv:componentAgent kb:carfilzomib ;
    pv:dosing kb:carfilzomib-weekly-priming , kb:carfilzomib-weekly-56-cycle1 , kb:carfilzomib-weekly-56 .
kb:Test-KCy-cyclophosphamide a pv:RegimenComponent ; pv:componentAgent kb:cyclophosphamide ;
    pv:dosing kb:Test-KCy-cyclophosphamide-500 .
kb:Test-KCy-cyclophosphamide-500 a pv:Dosing ; rdfs:label "500 mg PO, day 1" ;
    pv:fromCycle 1 ; pv:onDay 1 ; pv:allowedRoute kb:route-PO ;
    pv:level [ a pv:DoseLevel ; pv:minValue 500 ; pv:maxValue 500 ; pv:unit "mg" ] ;
    dct:source kb:source-rule-book .
"""


def _order(cyclophosphamide_day: int, carfilzomib_level: int) -> bytes:
    return json.dumps({
        "@context": "https://w3id.org/protovalidate/context/v1.jsonld",
        "@type": "ChemotherapyOrder", "regimen": "Test-KCy", "cycle": 2,
        "patient": {"weight": {"value": 70, "unit": "kg"}, "height": {"value": 170, "unit": "cm"}},
        "administrations": [
            {"agent": "carfilzomib", "days": [1, 8, 15], "doseLevel": {"value": carfilzomib_level, "unit": "mg/m2"},
             "route": "IV", "infusionDuration": {"value": 30, "unit": "min"}},
            {"agent": "cyclophosphamide", "day": cyclophosphamide_day, "dose": {"value": 500, "unit": "mg"}, "route": "PO"},
            {"agent": "acyclovir", "days": list(range(1, 29)), "dose": {"value": 400, "unit": "mg"}, "route": "PO"},
        ],
    }).encode()


def test_a_regimen_file_in_a_directory_is_enough(tmp_path):
    (tmp_path / "Test-KCy.ttl").write_text(REGIMEN, "utf-8")
    validator = Pipeline(KnowledgeBase.load(extra_regimen_dirs=(tmp_path,)))
    assert "Test-KCy" in validator.kb.regimen_ids()
    assert validator.check("ok.jsonld", _order(1, 56)).all_findings() == []
    rules = sorted(f.rule_id for f in validator.check("bad.jsonld", _order(2, 70)).all_findings())
    # day 2 is off its schedule, and day 1, a clinic day (carfilzomib IV), misses it
    assert rules == ["dose-level-above-protocol"] * 3 + ["dose-omitted", "off-schedule"]


def test_without_the_file_the_regimen_is_unknown():
    rules = [f.rule_id for f in Pipeline().check("x.jsonld", _order(1, 56)).all_findings()]
    assert rules == ["unknown-regimen"]
