"""Rules for regimen templates (`protovalidate check-template`), shipped as package data."""
