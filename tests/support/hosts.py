"""Hosts simulated with network namespaces: each host a namespace with one interface (`eth0`) on a
bridge that lives in a namespace of its own (the switch). Created and removed by the test; the
machine's own namespace gets no interface and no address.

Faults are what a network does: a host's link goes down (`link`), two hosts stop reaching each
other while both still reach everyone else (`partition`: packets dropped both ways).
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from tests.support.state import enter_netns

T = TypeVar("T")
SUBNET = "10.77.0"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Hosts:
    def __init__(self, names: Mapping[str, int]) -> None:
        """`names`: host name → last octet of its address in 10.77.0.0/24."""
        self.prefix = f"scr{os.getpid()}"
        self.octets = dict(names)
        self.switch = f"{self.prefix}-sw"
        self.procs: list[subprocess.Popen[bytes]] = []

    def ns(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def address(self, host: str) -> str:
        return f"{SUBNET}.{self.octets[host]}"

    def up(self) -> Hosts:
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        for index, host in enumerate(self.octets):
            ns, port = self.ns(host), f"port{index}"
            _ip("netns", "add", ns)
            _ip(
                "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", self.switch
            )
            _ip("-n", self.switch, "link", "set", port, "master", "br0")
            _ip("-n", self.switch, "link", "set", port, "up")
            _ip("-n", ns, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", "eth0", "up")
        return self

    def popen(
        self, host: str, command: list[str], *, env: Mapping[str, str] | None = None, log: Path
    ) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(host), *command],
            env=dict(env) if env is not None else None,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def call(self, host: str, function: Callable[[], T]) -> T:
        """Run `function` in a thread inside `host`'s namespace (its sockets start there)."""
        results: queue.Queue[tuple[bool, object]] = queue.Queue()

        def run() -> None:
            try:
                enter_netns(self.ns(host))
                results.put((True, function()))
            except BaseException as exc:  # handed to the caller
                results.put((False, exc))

        threading.Thread(target=run, daemon=True).start()
        ok, value = results.get(timeout=120)
        if not ok:
            assert isinstance(value, BaseException)
            raise value
        return value  # type: ignore[return-value]

    def link(self, host: str, *, up: bool) -> None:
        _ip("-n", self.ns(host), "link", "set", "eth0", "up" if up else "down")

    def partition(self, a: str, b: str, *, cut: bool = True) -> None:
        """Drop every packet between `a` and `b`, both ways (or heal that)."""
        verb = "add" if cut else "del"
        _ip("-n", self.ns(a), "route", verb, "blackhole", f"{self.address(b)}/32")
        _ip("-n", self.ns(b), "route", verb, "blackhole", f"{self.address(a)}/32")

    def down(self) -> None:
        # SIGTERM first: nginx's master stops its workers then, while a SIGKILL left them running.
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for name in [*(self.ns(h) for h in self.octets), self.switch]:
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)  # gone is fine
