"""A TCP forwarder on 127.0.0.1 that a test can make fail like a database server does.

The outage tests put it between qleads and the real PostgreSQL server: :meth:`TcpProxy.drop`
closes every open connection at once, which is what the clients of a restarting server
see; :meth:`TcpProxy.refuse` also stops listening, so that new connections are refused
until :meth:`TcpProxy.restore`. Nothing is changed in the bytes forwarded.

``from tcp_proxy import TcpProxy`` in ``tests/integration``; tests elsewhere put this
directory on ``sys.path`` first (as ``tests/portal/test_portal_outage.py`` does).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Self

import sqlalchemy as sa

__all__ = ["TcpProxy"]

_CHUNK = 65536


class _Pair:
    """One client connection and its upstream twin; closing either closes both."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self._closed = threading.Event()

    def pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self.close()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``upstream`` (host, port), one pair of threads per
    connection. Use it as a context manager, or call :meth:`start` and :meth:`close`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._lock = threading.Lock()
        self._pairs: list[_Pair] = []
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._stopping = threading.Event()
        #: Connections accepted so far (a reconnect shows up here).
        self.accepted = 0

    @classmethod
    def in_front_of(cls, url: str | sa.URL) -> Self:
        """A proxy for the server a database URL names (not started)."""
        parsed = sa.make_url(url)
        return cls(parsed.host or "127.0.0.1", parsed.port or 5432)

    def url(self, url: str | sa.URL) -> str:
        """``url`` with host and port replaced by the proxy's."""
        parsed = sa.make_url(url).set(host="127.0.0.1", port=self.port)
        return parsed.render_as_string(hide_password=False)

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> Self:
        self._listen()
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening and close every connection."""
        self._stop_listening()
        self.drop()

    # --- faults --------------------------------------------------------------------------

    def drop(self) -> int:
        """Close every open connection, both sides (a server restart as its clients see
        it); the proxy goes on accepting new ones. Returns how many were open."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        open_pairs = [p for p in pairs if not p.closed]
        for pair in open_pairs:
            pair.close()
        return len(open_pairs)

    def refuse(self) -> None:
        """Drop every connection and stop listening: connecting is refused (a server
        that is down) until :meth:`restore`."""
        self._stop_listening()
        self.drop()

    def restore(self) -> None:
        """Listen again, on the same port."""
        if self._listener is None:
            self._listen()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return sum(1 for p in self._pairs if not p.closed)

    # --- plumbing ------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self.port = int(listener.getsockname()[1])
        self._stopping = threading.Event()
        self._listener = listener
        self._acceptor = threading.Thread(
            target=self._accept, args=(listener, self._stopping), daemon=True
        )
        self._acceptor.start()

    def _stop_listening(self) -> None:
        listener, acceptor = self._listener, self._acceptor
        self._listener = self._acceptor = None
        if listener is None:
            return
        self._stopping.set()
        if acceptor is not None:
            acceptor.join(5)
        listener.close()

    def _accept(self, listener: socket.socket, stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = _Pair(client, upstream)
            with self._lock:
                self.accepted += 1
                self._pairs.append(pair)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=pair.pump, args=(source, sink), daemon=True).start()
