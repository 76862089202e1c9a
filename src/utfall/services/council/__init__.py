"""The intervention council's computations: the dashboard, small-cell suppression and the
releases to roles that see aggregates only (:mod:`.releases`)."""

from utfall.services.council.dashboard import dashboard_build, money
from utfall.services.council.suppression import MIN_CELL, is_publishable, suppress_cells

__all__ = ["MIN_CELL", "dashboard_build", "is_publishable", "money", "suppress_cells"]
