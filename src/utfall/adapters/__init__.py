"""Adapters between the outside world and the services.

The services take parsed objects; this package reads them from files for the CLI
(:mod:`utfall.adapters.files`). The web platform has its own adapter, the
stored rows of its database (:mod:`utfall.platform.tables`).
"""
