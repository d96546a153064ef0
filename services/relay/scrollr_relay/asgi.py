"""`scrollr_relay.asgi:app` for running the relay under another ASGI server (e.g. `granian
--interface asgi scrollr_relay.asgi:app`), configured by the same environment as `scrollr-relay`.

`scrollr-relay` (uvicorn) remains the supported command: it also ends every stream when asked to
stop, so clients move to another process at once.
"""

from scrollr_relay.app import create_app
from scrollr_relay.config import load_or_exit, load_settings

app = create_app(load_or_exit("scrollr_relay.asgi", load_settings))
