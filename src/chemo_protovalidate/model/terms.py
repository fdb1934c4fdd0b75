"""RDF terms between the two libraries: orders travel as Oxigraph terms (fast to
make and to load), and become rdflib terms only where rdflib is needed (the
reference engine, RDF syntaxes other than JSON-LD)."""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef

_XSD = "http://www.w3.org/2001/XMLSchema#"
_XSD_STRING = _XSD + "string"
_NUMERIC = tuple(_XSD + name for name in ("integer", "decimal", "double", "float", "int", "long", "short", "byte",
                                          "nonNegativeInteger", "positiveInteger", "negativeInteger",
                                          "nonPositiveInteger", "unsignedInt", "unsignedLong", "unsignedShort",
                                          "unsignedByte"))


def to_ox(term):
    if isinstance(term, (ox.NamedNode, ox.BlankNode, ox.Literal)):
        return term
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def to_rdflib(term):
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:  # rdflib keeps a plain literal apart from an xsd:string one
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    return term


def number(term) -> int | float | None:
    """A numeric Oxigraph literal's value, None for anything else."""
    if not isinstance(term, ox.Literal) or term.datatype.value not in _NUMERIC:
        return None
    try:
        value = float(term.value)
    except ValueError:
        return None
    return int(value) if value.is_integer() and term.datatype.value != _XSD + "double" else value


def text(term) -> str | None:
    """A term as a message shows it: numbers in their shortest form, blank nodes as _:label."""
    if term is None:
        return None
    if isinstance(term, (ox.Literal, Literal)):
        datatype = str(term.datatype.value if isinstance(term, ox.Literal) else term.datatype or "")
        lexical = term.value if isinstance(term, ox.Literal) else str(term)
        if datatype.endswith(("#double", "#float", "#decimal", "#integer")):
            try:
                return f"{float(lexical):.10g}"
            except ValueError:
                return lexical
        return lexical
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, ox.NamedNode):
        return term.value
    return str(term)
