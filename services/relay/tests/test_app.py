"""The app's lifespan, in process."""

import gc

from litestar.testing import AsyncTestClient
from scrollr_relay.config import load_settings
from scrollr_relay.serve.app import create_app


async def test_start_up_keeps_what_lives_for_ever_out_of_full_gc_passes():
    gc.unfreeze()
    app = create_app(load_settings({"SEQUIN_WEBHOOK_SECRET": "x" * 20}))
    try:
        async with AsyncTestClient(app) as client:
            assert gc.get_freeze_count() > 10_000  # the modules and the app, at least
            assert (await client.get("/healthz")).status_code == 200
    finally:
        gc.unfreeze()
