"""The package's version: every report and --version print it; the compiled knowledge base is keyed by it."""

__version__ = "0.5.0"
