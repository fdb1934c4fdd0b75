"""protovalidate: checks chemotherapy orders against their regimen protocols.

The package's top level is its Python API (docs/python-api.md); everything else is private and may move:

    import chemo_protovalidate as pv
    checker = pv.Checker()
    result = checker.check(order)       # a dict, str or bytes (JSON-LD or RDF), or a Path
    result.conforms, result.findings, result.to_json()

The clinical knowledge is data shipped inside this package: the ontology and the regimens (``ontology/``),
the rules as SHACL shapes (``shapes/``) and the JSON-LD context of the order format (``ontology/context/``).
docs/architecture.md maps the code: read -> check -> report, the authoring tools, the front doors on top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chemo_protovalidate.model.version import __version__

if TYPE_CHECKING:
    from chemo_protovalidate.api import Checker, Result
    from chemo_protovalidate.check.knowledge import KnowledgeBaseError
    from chemo_protovalidate.model.findings import Finding, KnowledgeBaseVersion, OrderResult, Severity, Source
    from chemo_protovalidate.settings import ConfigError

# The API's names, and the module each lives in: loaded when first used, so that the command's own start
# (`protovalidate --version`, `regimens`) does not pay for the engine it may not need.
_EXPORTS = {
    "Checker": "chemo_protovalidate.api",
    "Result": "chemo_protovalidate.api",
    "Finding": "chemo_protovalidate.model.findings",
    "OrderResult": "chemo_protovalidate.model.findings",
    "Severity": "chemo_protovalidate.model.findings",
    "Source": "chemo_protovalidate.model.findings",
    "KnowledgeBaseVersion": "chemo_protovalidate.model.findings",
    "ConfigError": "chemo_protovalidate.settings",
    "KnowledgeBaseError": "chemo_protovalidate.check.knowledge",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'chemo_protovalidate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
