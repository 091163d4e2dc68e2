"""The fleet console (`arbctl tui --fleet`): every engine on one screen.

`model` (typed rows from untrusted JSON), `source` (reading Redis and sockets), `kill`
(the fleet-wide kill), `screen` (the table and banner), `app` (the console itself).
"""
