"""Arbitrage search: cycle enumeration, a vectorised pre-filter and exact re-checks."""
