"""The compiled knowledge base (src/chemo_protovalidate/check/compiled.py) answers exactly as the parsed one does."""

from __future__ import annotations

import pytest
from rdflib import RDF

from chemo_protovalidate.check import compiled
from chemo_protovalidate.check.knowledge import CompiledKnowledgeBase, KnowledgeBase
from chemo_protovalidate.check.pipeline import Pipeline
from chemo_protovalidate.model.vocabulary import PV
from conftest import EXAMPLES


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTOVALIDATE_CACHE_DIR", str(tmp_path))
    return tmp_path


def _verdicts(kb) -> list:
    validator = Pipeline(kb)
    paths = sorted((EXAMPLES / "invalid").glob("*.jsonld"))[:40]
    return [(r.path, [(f.rule_id, f.message) for o in r.orders for f in o.findings])
            for r in validator.check_files((str(p), p.read_bytes()) for p in paths)]


def test_the_second_load_is_compiled_and_gives_the_same_findings(cache_dir):
    parsed = KnowledgeBase.load()
    assert not isinstance(parsed, CompiledKnowledgeBase)
    assert len(list(cache_dir.glob("kb-*.pickle"))) == 1
    again = KnowledgeBase.load()
    assert isinstance(again, CompiledKnowledgeBase)
    assert [r.rule_id for r in again.catalogue.rules] == [r.rule_id for r in parsed.catalogue.rules]
    assert again.sources == parsed.sources and again.context == parsed.context
    assert again.version == parsed.version and again.version is not None
    assert len(again.graph) == len(parsed.graph)  # parsed back from N-Triples only when asked for
    assert _verdicts(again) == _verdicts(parsed)


def test_a_tolerance_is_compiled_apart(cache_dir):
    KnowledgeBase.load()
    KnowledgeBase.load(tolerance_percent=10)
    assert len(list(cache_dir.glob("kb-*.pickle"))) == 2


def test_a_weight_change_threshold_is_compiled_apart_never_a_stale_cache(cache_dir):
    shipped = KnowledgeBase.load()
    KnowledgeBase.load(weight_change_percent=15)
    KnowledgeBase.load(tolerance_percent=10, weight_change_percent=15)
    assert len(list(cache_dir.glob("kb-*.pickle"))) == 3
    again = KnowledgeBase.load(weight_change_percent=15)
    assert isinstance(again, CompiledKnowledgeBase)
    settings = set(again.graph.subjects(RDF.type, PV.WeightChangeSetting))
    assert settings and settings == set(shipped.graph.subjects(RDF.type, PV.WeightChangeSetting))
    assert {again.graph.value(s, PV.percent).toPython() for s in settings} == {15}
    assert {shipped.graph.value(s, PV.percent).toPython() for s in settings} != {15}


def test_a_setting_written_10_or_10_0_is_one_compiled_file(cache_dir):
    KnowledgeBase.load(weight_change_percent=10)
    assert isinstance(KnowledgeBase.load(weight_change_percent=10.0), CompiledKnowledgeBase)
    assert compiled._path({"weight-change": 10.0}) == compiled._path({"weight-change": 10})
    assert compiled._path({"tolerance": 7}) != compiled._path({"weight-change": 7})
    assert compiled._path({"tolerance": None}) == compiled._path({})


def test_a_damaged_cache_file_is_parsed_again(cache_dir):
    KnowledgeBase.load()
    (path,) = cache_dir.glob("kb-*.pickle")
    path.write_bytes(b"not a pickle")
    kb = KnowledgeBase.load()
    assert not isinstance(kb, CompiledKnowledgeBase) and kb.catalogue.rules
    assert compiled.load() is not None  # and written whole again


def test_site_regimens_are_never_compiled(cache_dir):
    KnowledgeBase.load(extra_regimen_dirs=(EXAMPLES.parent / "templates" / "valid",))
    assert not list(cache_dir.glob("kb-*.pickle"))


def test_an_empty_cache_dir_setting_turns_the_cache_off(monkeypatch):
    monkeypatch.setenv("PROTOVALIDATE_CACHE_DIR", "")
    assert compiled._path({}) is None
    assert not isinstance(KnowledgeBase.load(), CompiledKnowledgeBase)


def test_files_of_another_package_version_are_removed(cache_dir):
    stale = cache_dir / "kb-0.0.1-0123456789abcdef0123456789abcdef-None.pickle"
    stale.write_bytes(b"old")
    KnowledgeBase.load()
    assert not stale.exists() and len(list(cache_dir.glob("kb-*.pickle"))) == 1
