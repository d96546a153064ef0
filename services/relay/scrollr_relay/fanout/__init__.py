"""Fan-out: from the bus to every open stream. One reader per process (hub.py) encodes each event
once (sse.py, deflate.py) and writes it to the streams whose filter wants it (filters.py, groups.py),
each through its subscriber (subscriber.py, pending.py, conflation.py, rate.py) and sink (sinks.py);
a resuming stream is handed over from its backlog to live frames (handover.py, recent.py), and a
signed-in one also gets its user's private events (private.py). What streams may cost is bounded
here too (filter_budget.py, replays.py, clients.py). No HTTP framework: the serve layer calls it."""
