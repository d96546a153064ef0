"""requirements.lock is what the project's commands install: it must pin every dependency declared."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return {re.split(r"[\[<>=!~ ;]", spec, maxsplit=1)[0].lower().replace("_", "-") for spec in specs}


def pinned() -> dict[str, str]:
    pins = re.findall(
        r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE
    )
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_every_declared_dependency_is_pinned_with_hashes():
    missing = declared() - set(pinned())
    assert not missing, f"not in requirements.lock (run `just lock`): {sorted(missing)}"
    assert "--hash=sha256:" in (ROOT / "requirements.lock").read_text()


def test_uvicorn_is_pinned_to_the_verified_minor():
    from scrollr_relay.serve.uvicorn_server import VERIFIED_UVICORN

    assert pinned()["uvicorn"].startswith(VERIFIED_UVICORN + ".")
