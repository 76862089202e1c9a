"""Participants have no model of their own: they are the contract's declared ``participants``
table, stored with the other tables (``imports.TableSegment``) and read through
``utfall.platform.tables.StoredTables`` (decision 0206)."""
