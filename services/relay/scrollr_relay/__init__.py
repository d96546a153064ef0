"""Scrollr's real-time relay: Sequin webhooks in, Server-Sent Events out, Redis in between."""
