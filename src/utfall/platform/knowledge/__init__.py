"""The public knowledge platform: published contracts, outcome definitions, suppressed results."""
