"""The project's own order-format page names exactly the identifiers the knowledge base holds."""

from __future__ import annotations

import re
from pathlib import Path

from rdflib import RDF, URIRef

from chemo_protovalidate.check.knowledge import KnowledgeBase

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


def test_the_python_api_page_runs_as_written(monkeypatch):
    """Every ```python block of docs/python-api.md, in order, in one namespace, from the repository's root
    (as a reader runs them); their asserts are the page's promises. The README's API block too."""
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    for page in ("docs/python-api.md", "README.md"):
        blocks = re.findall(r"```python\n(.*?)```", (root / page).read_text("utf-8"), re.S)
        assert blocks, page
        namespace: dict = {}
        for number, block in enumerate(blocks, start=1):
            exec(compile(block, f"{page} python block {number}", "exec"), namespace)  # noqa: S102
