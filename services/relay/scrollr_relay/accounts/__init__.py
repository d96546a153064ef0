"""Accounts: who a request is (identity.py, issuer_keys.py), what that user prefers
(preferences.py), and the single-use tickets that open a signed-in stream (tickets.py); routes.py
serves them over HTTP."""
