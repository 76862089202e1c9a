"""Pseudonymised participants of a contract."""
