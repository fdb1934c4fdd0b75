"""Ontology, regimens and JSON-LD context, shipped as package data (see ontology/README.md)."""
