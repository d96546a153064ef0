"""Real Redis topologies from the machine's redis-server: a Cluster (3 masters, 3 replicas) and a
Sentinel-managed master with a replica and three sentinels, each on free ports of its own.

Failover settings are short (node timeout 2 s, sentinel down-after 1 s) so a test sees a promotion
in seconds; everything else is Redis's own behaviour.
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import redis

from tests.support.procs import redis_command, wait_until

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
SENTINEL_MASTER = "scrollr"


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_safe_port() -> int:
    """A free port whose cluster bus port (+10000) is free too and below 65536, outside the
    ephemeral range (so a client socket can't take it between runs)."""
    for _ in range(1000):
        port = random.randint(20000, 30000)
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


class Node:
    """One redis-server (or sentinel) process, keeping nothing on disk."""

    def __init__(
        self,
        root: Path,
        port: int,
        *args: str,
        sentinel_conf: Path | None = None,
        password: str | None = None,
    ) -> None:
        self.port = port
        self.dir = root / str(port)
        self.dir.mkdir()
        self.args = args
        self.sentinel_conf = sentinel_conf
        self.password = password  # what it requires of clients, if anything
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        if self.sentinel_conf is not None:
            return [REDIS_SERVER, str(self.sentinel_conf), "--sentinel"]
        # A replica syncs at once (the default waits 5 s for more replicas to share a transfer).
        return redis_command(self.port, self.dir, "--repl-diskless-sync-delay", "0", *self.args)

    def start(self) -> Node:
        log = (self.dir / "log").open("ab")
        self.proc = subprocess.Popen(self.command(), cwd=self.dir, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self.answers, what=f"redis on {self.port}")
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.password, socket_timeout=2, decode_responses=True)

    def answers(self) -> bool:
        with self.client() as r:
            return bool(r.ping())

    def _role(self) -> tuple[str, bool]:
        """Its role (`master` or `slave`), and whether its link to a master is up."""
        with self.client() as r:
            info = r.info("replication")
        return info["role"], info.get("master_link_status") == "up"

    def replica_in_sync(self) -> bool:
        """A master, or a replica whose link to its master is up (its initial sync done)."""
        role, linked = self._role()
        return role == "master" or linked

    def synced_replica(self) -> bool:
        """A replica now (not a master), its link to its master up."""
        role, linked = self._role()
        return role == "slave" and linked

    def kill(self) -> None:
        """kill -9: no goodbye to replicas or sentinels."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)


class Cluster:
    """3 masters and 3 replicas made with `redis-cli --cluster create`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="scrollr-cluster-"))
        self.nodes: list[Node] = []

    def start(self) -> Cluster:
        for _ in range(6):
            node = Node(
                self.root,
                cluster_safe_port(),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
            )
            self.nodes.append(node.start())
        subprocess.run(
            [
                REDIS_CLI,
                "--cluster",
                "create",
                *(f"127.0.0.1:{n.port}" for n in self.nodes),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
        )
        wait_until(self.healthy, timeout=30, what="cluster state ok on every node")
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}"

    def healthy(self) -> bool:
        """Every live node says the cluster is ok, and every replica has synced (a replica that never
        synced won't take over: it counts as too far behind)."""
        for node in self.nodes:
            if node.proc is None:
                continue
            with node.client() as r:
                if "cluster_state:ok" not in r.execute_command("CLUSTER", "INFO"):
                    return False
            if not node.replica_in_sync():
                return False
        return True

    def master_of(self, key: str) -> Node:
        """The live node that serves `key`'s slot as master."""
        with next(n for n in self.nodes if n.proc is not None).client() as r:
            slot = int(r.execute_command("CLUSTER", "KEYSLOT", key))
            for start, end, master, *_ in r.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    port = int(master[1])
        return next(n for n in self.nodes if n.port == port)

    def kill_master_of(self, key: str) -> Node:
        node = self.master_of(key)
        node.kill()
        return node

    def rejoin(self, node: Node) -> None:
        """Restart a killed node: it knows the cluster (nodes.conf) and comes back as a replica."""
        node.start()
        wait_until(node.synced_replica, timeout=60, what=f"node {node.port} back as a synced replica")
        wait_until(self.healthy, timeout=30, what="cluster state ok on every node")

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()
        shutil.rmtree(self.root, ignore_errors=True)


class SentinelSet:
    """A master, its replica and three sentinels watching it as `scrollr` (quorum 2); with
    `password` the master and replica require it, with `sentinel_password` the sentinels do."""

    def __init__(self, *, password: str | None = None, sentinel_password: str | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="scrollr-sentinel-"))
        self.password = password
        self.sentinel_password = sentinel_password
        self.master: Node | None = None
        self.replica: Node | None = None
        self.sentinels: list[Node] = []

    def _data_node(self, *args: str) -> Node:
        auth = ("--requirepass", self.password, "--masterauth", self.password) if self.password else ()
        return Node(self.root, cluster_safe_port(), *auth, *args, password=self.password).start()

    def start(self) -> SentinelSet:
        self.master = self._data_node()
        self.replica = self._data_node("--replicaof", "127.0.0.1", str(self.master.port))
        for _ in range(3):
            port = cluster_safe_port()
            conf = self.root / f"sentinel-{port}.conf"
            text = (
                f"port {port}\nbind 127.0.0.1\ndir {self.root}\n"
                f"sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {SENTINEL_MASTER} 1000\n"
                f"sentinel failover-timeout {SENTINEL_MASTER} 5000\n"
            )
            if self.password:
                text += f"sentinel auth-pass {SENTINEL_MASTER} {self.password}\n"
            if self.sentinel_password:  # asked of clients, and of the sentinels by each other
                text += (
                    f"requirepass {self.sentinel_password}\nsentinel sentinel-pass {self.sentinel_password}\n"
                )
            conf.write_text(text)
            node = Node(self.root, port, sentinel_conf=conf, password=self.sentinel_password)
            self.sentinels.append(node.start())
        wait_until(self.watching, timeout=30, what="sentinels to see each other and the replica")
        return self

    @property
    def addresses(self) -> str:
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def env(self) -> dict[str, str]:
        """The relay's settings for this set, passwords included."""
        env = {"REDIS_SENTINELS": self.addresses, "REDIS_SENTINEL_MASTER": SENTINEL_MASTER}
        if self.password:
            env["REDIS_PASSWORD"] = self.password
        if self.sentinel_password:
            env["REDIS_SENTINEL_PASSWORD"] = self.sentinel_password
        return env

    def watching(self) -> bool:
        assert self.replica is not None
        if not self.replica.replica_in_sync():
            return False
        for sentinel in self.sentinels:
            with sentinel.client() as r:
                if not r.execute_command("SENTINEL", "REPLICAS", SENTINEL_MASTER):
                    return False
                if len(r.execute_command("SENTINEL", "SENTINELS", SENTINEL_MASTER)) < 2:
                    return False
        return True

    def master_port(self) -> int:
        with self.sentinels[0].client() as r:
            _, port = r.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER)
        return int(port)

    def kill_master(self) -> Node:
        """kill -9 whichever node the sentinels name master now."""
        port = self.master_port()
        node = next(n for n in (self.master, self.replica) if n is not None and n.port == port)
        node.kill()
        return node

    def rejoin(self, node: Node) -> None:
        """Restart a killed master: it comes back empty, and the sentinels make it a replica."""
        node.start()
        wait_until(node.synced_replica, timeout=60, what=f"node {node.port} made a synced replica")

    def stop(self) -> None:
        for node in [*self.sentinels, self.master, self.replica]:
            if node is not None:
                node.kill()
        shutil.rmtree(self.root, ignore_errors=True)
