"""Organisations, their members and personal API tokens."""
