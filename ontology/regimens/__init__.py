"""Regimen templates: one Turtle file per regimen, shipped as package data."""
