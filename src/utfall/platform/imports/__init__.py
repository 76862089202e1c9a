"""Data imports: upload, column mapping, preview, validation, all-or-nothing commit."""
