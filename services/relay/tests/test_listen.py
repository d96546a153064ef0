"""Several accept queues on one port, and a port in use still refused."""

import errno
import socket

import pytest
from scrollr_relay.fanout.sinks import KERNEL_UNSENT_BYTES
from scrollr_relay.serve.listen import accept_queues


def test_one_port_several_queues_all_accepting():
    sockets = accept_queues("127.0.0.1", 0, 3)
    try:
        ports = {s.getsockname()[1] for s in sockets}
        assert len(sockets) == 3 and len(ports) == 1
        port = ports.pop()
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(30)]
        for s in sockets:
            s.setblocking(False)
        accepted = 0
        for s in sockets:
            while True:
                try:
                    connection = s.accept()[0]
                    # The socket sink's mark, inherited from the listening socket (sinks.py).
                    lowat = connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT)
                    assert lowat == KERNEL_UNSENT_BYTES
                    connection.close()
                    accepted += 1
                except BlockingIOError:
                    break
        assert accepted == 30
        for client in clients:
            client.close()
    finally:
        for s in sockets:
            s.close()


def test_a_port_something_listens_on_is_refused_not_shared():
    taken = socket.create_server(("127.0.0.1", 0))
    try:
        with pytest.raises(OSError) as refused:
            accept_queues("127.0.0.1", taken.getsockname()[1])
        assert refused.value.errno == errno.EADDRINUSE
    finally:
        taken.close()
