#!/usr/bin/env python3
"""A TCP relay on 127.0.0.1, for tests that take an endpoint away and give it back.

Usage: tcp-relay.py PARENT_PID LISTEN_PORT UPSTREAM_PORT

Accepts connections on 127.0.0.1:LISTEN_PORT and relays each to 127.0.0.1:UPSTREAM_PORT. Killing it
(SIGKILL) drops every open connection and leaves the port refusing new ones; starting it again on the same
port brings the endpoint back while the upstream server keeps its state. It exits when PARENT_PID is gone
(or a zombie), so a crashed test leaves nothing running. It runs in its own process rather than inside the
test because a relay in the test process shares its threads with the code under test.
"""
import socket
import sys
import threading
import time

from parent_watch import alive


def pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        # Wakes the other direction's pump, which then closes its own source.
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        source.close()


def serve(listener: socket.socket, upstream: int) -> None:
    while True:
        client, _ = listener.accept()
        try:
            server = socket.create_connection(("127.0.0.1", upstream))
        except OSError:
            client.close()
            continue
        threading.Thread(target=pump, args=(client, server), daemon=True).start()
        threading.Thread(target=pump, args=(server, client), daemon=True).start()


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    parent, port, upstream = (int(argument) for argument in sys.argv[1:])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    threading.Thread(target=serve, args=(listener, upstream), daemon=True).start()
    while alive(parent):
        time.sleep(0.3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
