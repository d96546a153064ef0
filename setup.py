"""Building the relay's wheel also builds its front-end: the dashboard (with its SharedWorker at the
stable path `/sse-worker.js`) and the browser extension as a zip, packaged as `scrollr_relay/web/`,
which an installed relay serves by default. An editable install (development) skips this: the
checkout's `web/dist` is served through SCROLLR_WEB_DIR instead. Needs node and npm."""

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
EXTENSION_ZIP = "scrollr-extension.zip"


class BuildPyWithFrontEnd(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        if not (ROOT / "node_modules").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True)
        subprocess.run(["node", "web/build.mjs"], cwd=ROOT, check=True)
        target = Path(self.build_lib) / "scrollr_relay" / "web"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(ROOT / "web" / "dist", target)
        archive = shutil.make_archive(str(target / "scrollr-extension"), "zip", ROOT / "extension" / "dist")
        assert Path(archive).name == EXTENSION_ZIP


setup(cmdclass={"build_py": BuildPyWithFrontEnd})
