"""Serve: the Litestar app and the transport under it. app.py assembles the routes of every part;
events.py and stream.py run `/events` on the raw ASGI interface; snapshot.py, catalog.py, health.py
and static.py answer the rest. cli.py starts the relay, in one process or several (workers.py,
listen.py); everything uvicorn-specific is in uvicorn_server.py, and other_servers.py is the app for
any other ASGI server. The top layer: nothing else imports it."""
