"""The utfall web platform: a Django project on top of the pure-Python core.

Apps: ``organisations`` (organisations, memberships, API tokens), ``contracts``
(contracts, versions, parties, settlement statements), ``participants``
(pseudonymised participants), ``imports`` (data imports) and ``audit`` (the
audit trail). ``permissions`` holds every access rule in one place; ``web`` and
``api`` are the thin shells that parse, call services/selectors and render.
Run it with ``python -m utfall.platform.manage``.
"""
