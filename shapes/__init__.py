"""The rules as SHACL shapes, shipped as package data."""
