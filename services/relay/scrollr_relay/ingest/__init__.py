"""Ingest: where a Sequin webhook becomes a bus event. The route checks the sender (auth.py), decodes
and validates the whole delivery (sequin.py) and publishes one envelope per change (webhook.py).
Depends on the bus and the basics only."""
