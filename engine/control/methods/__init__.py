"""The control socket's method adapters, one module per part of the engine.

Only these modules (and the server) speak JSON-RPC: each reads params through
`engine.control.params`, calls the part's typed methods, and turns the part's own errors
into `ProtocolError`s with the documented codes. The parts never import this package,
so the wire format changes here and nowhere else (tests/test_architecture.py).
"""
