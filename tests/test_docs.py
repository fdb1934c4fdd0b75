"""The project's own order-format page names exactly the identifiers the knowledge base holds."""

from __future__ import annotations

import re
from pathlib import Path

from rdflib import RDF, URIRef

from chemo_protovalidate.knowledge import KnowledgeBase

PAGE = (Path(__file__).resolve().parents[1] / "docs" / "order-format.md").read_text("utf-8")
PV = "https://w3id.org/protovalidate/ontology#"


def _identifiers(start: str, end: str) -> set[str]:
    """The `code` words of the page between two markers (the first sentence of a list item)."""
    text = PAGE[PAGE.index(start):PAGE.index(end, PAGE.index(start))]
    return set(re.findall(r"`([^`\s]+)`", text))


def _held(kb: KnowledgeBase, class_name: str) -> set[str]:
    return {str(kb.graph.value(node, URIRef(PV + "identifier"))) for node in kb.graph.subjects(RDF.type, URIRef(PV + class_name))}


def test_the_page_lists_every_regimen_and_agent_of_the_knowledge_base():
    kb = KnowledgeBase.load()
    assert _identifiers("- **Regimens:**", "`protovalidate regimens`") == set(kb.regimen_ids())
    assert _identifiers("- **Regimen agents:**", "- **Supportive agents**") == _held(kb, "Agent")
    section = PAGE[PAGE.index("- **Supportive agents**"):PAGE.index("### Exact reading")]
    assert set(re.findall(r"^ *\| `([a-z0-9.-]+)` \|", section, re.MULTILINE)) == _held(kb, "SupportiveAgent")
