"""Scrollr's real-time relay: Sequin webhooks in, Server-Sent Events out, Redis in between.

Its parts, each a package, from the bottom up: the basics every part reads (config.py, metrics.py,
tables.py, topics.py, redis_topology.py); `bus` (the ordered history events travel through);
`ingest` (Sequin's webhook onto the bus), `accounts` (users, their preferences and stream tickets)
and `fanout` (the bus out to every open stream); and `serve` (the Litestar app and the servers that
run it). A module imports only from its own part and those below it; tests/test_layers.py checks
that, and docs/architecture.md is the map.
"""
