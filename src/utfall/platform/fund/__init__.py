"""The national outcomes fund: budget, phases, calls, applications, selection, reports, payments."""
