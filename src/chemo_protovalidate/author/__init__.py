"""For protocol authors: template checks, the regimen listing, the calendar."""
