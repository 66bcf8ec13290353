"""The secure part's integration fixtures: the namespace lab (see netlab.py)."""

from tests.integration.secure.netlab import netlab

__all__ = ["netlab"]
