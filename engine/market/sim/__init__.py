"""The simulated market venue: a deterministic chain with noise traders, a gas market,
rival searchers and flaky RPC providers, built from `[sim]` in the config.

Entry point for the daemon: `SimVenue.from_config(config)`.
"""

from engine.market.sim.venue import SimVenue
from engine.market.sim.world import World, build_world
from engine.market.venue import CANCELLED_BY_KILL

__all__ = ["CANCELLED_BY_KILL", "SimVenue", "World", "build_world"]
