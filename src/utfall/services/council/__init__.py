"""The intervention council's computations: the dashboard and small-cell suppression."""

from utfall.services.council.dashboard import DashboardInput, dashboard_build, dashboard_kind
from utfall.services.council.suppression import MIN_CELL, is_publishable, suppress_cells

__all__ = [
    "MIN_CELL",
    "DashboardInput",
    "dashboard_build",
    "dashboard_kind",
    "is_publishable",
    "suppress_cells",
]
