"""The operator console (`arbctl tui`): a Textual client of the engine's control socket.

Imported only by `arbctl tui`: plain commands must never pay for Textual.
"""
