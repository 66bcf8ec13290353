"""Aftermath: carry a business through a data breach or a dead server."""

__version__ = "0.1.0"
