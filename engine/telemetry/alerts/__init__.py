"""Alerts: the runbooks' alert rules, judged by the engine itself, sent where people look.

An alert fires once (de-duplicated per rule while it stays active), is sent again every
`resend_interval_s` while it stays active, and sends a `resolved` notification when it
clears. Deciding is kept apart from sending, so rules are unit-tested by stepping time
and sinks are tested against a real HTTP server:

- `rules`: the conditions and their thresholds, pure judgements of a metrics view;
- `book`: the state machine that turns judgements into notifications, and their history;
- `sinks`: the destinations (webhook, command), each a thread with a bounded queue;
- `service`: `Alerting`, which runs them all in the engine.
"""

from engine.telemetry.alerts.service import Alerting

__all__ = ["Alerting"]
