"""`scrollr_relay.serve.other_servers:app`: the relay for an ASGI server other than `scrollr-relay`'s own
(e.g. `granian --interface asgi scrollr_relay.serve.other_servers:app`), configured by the same
environment.

`scrollr-relay` remains the supported command: only its server offers streams their socket
(uvicorn_server.py), bounds request header and body time, and ends every stream when asked to stop. Under
another server streams go through ASGI `send` (sinks.py) and its own limits apply.
"""

from scrollr_core.settings import load_or_exit

from scrollr_relay.config import load_settings
from scrollr_relay.serve.app import create_app

app = create_app(load_or_exit("scrollr_relay.serve.other_servers", load_settings))
