"""Contracts, their versions, parties (organisation + role) and settlement statements."""
