"""`scrollr-cdc`: stream Postgres changes to the relay's webhook in Sequin's format."""

from __future__ import annotations

import signal
import sys
from types import FrameType

from scrollr_core.logs import configure
from scrollr_core.settings import load_or_exit

from scrollr_cdc import metrics
from scrollr_cdc.config import load_cdc_settings
from scrollr_cdc.emitter import CdcError, Emitter


def main() -> None:
    configure("scrollr-cdc", quiet=("httpx",))  # a line per webhook POST would drown the log
    settings = load_or_exit("scrollr-cdc", load_cdc_settings)
    if settings.metrics_port:
        metrics.serve(settings.metrics_host, settings.metrics_port)
    emitter = Emitter(settings)

    def stop(_sig: int, _frame: FrameType | None) -> None:
        emitter.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        emitter.run()
    except CdcError as exc:
        print(f"scrollr-cdc: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
