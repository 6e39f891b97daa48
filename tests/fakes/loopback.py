"""What every fake server shares: a threaded HTTP server on loopback, and the two ways a
server can fail a connection (close it without an answer; reset it)."""

from __future__ import annotations

import socket
import struct
from http.server import ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    request_queue_size = 256  # the default listen backlog (5) resets connections under load
    daemon_threads = True

    def handle_error(self, request, client_address):
        return  # clients that time out or are dropped on purpose are part of the game


def drop(handler) -> None:
    """Close the connection without an answer (an answer lost on the way back)."""
    handler.close_connection = True
    try:
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def reset(handler) -> None:
    """Reset the connection (RST), no answer: a server that is down."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
    except OSError:
        pass
