"""Listening sockets: several on one port (SO_REUSEPORT), each with its own accept queue.

A deploy, a crash or a proxy reload sends every client of a process back at once. The kernel holds
at most `somaxconn` (4,096 here) connections waiting to be accepted per listening socket; past that
it drops the SYN and the client retries after 1 s, then 3 s, then 7 s. Measured with 10,000 clients
reconnecting at once, one socket overflowed 8,306 times and the last clients were live after about
7 s, all of it waiting on SYN retries. The kernel spreads new connections across the sockets of a
port, so a process listening on ACCEPT_QUEUES sockets absorbs that many queues' worth of a burst;
with WORKERS, each worker has a socket of its own (workers.py).
"""

from __future__ import annotations

import socket

from scrollr_relay.fanout.sinks import KERNEL_UNSENT_BYTES

LISTEN_BACKLOG = 4096
ACCEPT_QUEUES = 4


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket on `port` that other sockets may share (SO_REUSEPORT); port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    # The socket sink's unsent low-water mark (fanout/sinks.py), set once here: accepted connections
    # inherit it, where setting it on each cost a socket object and a syscall per connection. Every
    # response gets it, not only streams: a large one (a snapshot) reaches the kernel in more, smaller
    # steps, the loop woken each time the unsent bytes fall below the mark.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT, KERNEL_UNSENT_BYTES)
    sock.bind((host, port))
    sock.listen(LISTEN_BACKLOG)
    return sock


def check_free(host: str, port: int) -> int:
    """The port, once a plain bind shows nothing listens there (a free one when `port` is 0).

    SO_REUSEPORT would let a relay's sockets join another process's on the port and split its
    traffic; the plain bind makes a port that is already in use an error (OSError, EADDRINUSE).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        return int(probe.getsockname()[1])


def port_taken(host: str, port: int, exc: OSError) -> str:
    """The one line said when the relay can't have its port."""
    return f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another relay or server using it?)"


def accept_queues(host: str, port: int, count: int = ACCEPT_QUEUES) -> list[socket.socket]:
    """`count` listening sockets on one port (a free one when `port` is 0), which must be free."""
    port = check_free(host, port)
    return [listening_socket(host, port) for _ in range(count)]
