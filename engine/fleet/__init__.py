"""Optional Redis hot state: a mirror of the engine, the fleet-wide halt flag, presence.

Nothing here is imported unless `[redis] url` is set, and this package's top level stays
stdlib-only: `arbctl fleet` and `arbctl kill --global` import `keys`, `halt` and `fleet`
lazily, and a plain `arbctl status` imports none of it. docs/redis.md has the key layout.
"""
