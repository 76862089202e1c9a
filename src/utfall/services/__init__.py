"""Services: reading files, orchestrating the core, writing results.

The CLI and the web platform call these; they hold no business rules of their own.
"""
