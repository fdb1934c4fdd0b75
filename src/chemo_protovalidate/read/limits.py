"""Limits on untrusted input (SECURITY.md): far above any real order, low enough to bound a run."""

MAX_BYTES = 10 * 1024 * 1024  # a real order file is a few kilobytes
MAX_ADMINISTRATIONS = 500  # a 28-day cycle here has about 10 (about 60 written one day each)
