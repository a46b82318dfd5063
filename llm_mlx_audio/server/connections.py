"""Connections the server keeps open: a header timeout and a cap, so idle sockets cannot pile up.

uvicorn closes an idle keep-alive connection after a response, but a connection that
never sends (or never finishes) its request headers stays open for ever, each one a
file descriptor: a few hundred of them and the process can accept nothing more. Here
every connection must complete its request headers within ``header_timeout`` of
opening (or of its last response), and past ``max_connections`` a new connection
closes the longest-idle one that has no request in flight to make room, so /health
and real clients keep being answered. The file-descriptor limit is raised to what the
cap needs (macOS starts processes with only 256).
"""

from __future__ import annotations

from uvicorn.protocols.http.h11_impl import H11Protocol

DEFAULT_HEADER_TIMEOUT = 15.0
DEFAULT_MAX_CONNECTIONS = 1000


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with the header timeout and the connection cap."""

    header_timeout = DEFAULT_HEADER_TIMEOUT
    max_connections = DEFAULT_MAX_CONNECTIONS

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._idle_since = self.loop.time()
        self._arm_header_timer()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def connection_lost(self, exc) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self, event) -> None:
        """A WebSocket owns the connection from here: no header timer may close it."""
        self._cancel_header_timer()
        super().handle_websocket_upgrade(event)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle_since = self.loop.time()
        self._arm_header_timer()  # the next request's headers get the same time

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._cycle_when_armed = self.cycle
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        """No request began since the timer was armed: the client is idle or dribbling headers."""
        self._header_timer = None
        if self.cycle is self._cycle_when_armed and not self.transport.is_closing():
            self.transport.close()

    def _idle(self) -> bool:
        """No request in flight, and not already on its way out (connections accepted in one
        go all see the ones closed before them still in the set)."""
        idle = self.cycle is None or self.cycle.response_complete
        return idle and not self.transport.is_closing()

    def _make_room(self) -> None:
        """Close the longest-idle connection (this new one if none is idle)."""
        open_now = [c for c in self.connections if not c.transport.is_closing()]
        if len(open_now) <= self.max_connections:
            return
        idle = [c for c in open_now if isinstance(c, GuardedH11Protocol) and c._idle()]
        victim = min(idle, key=lambda c: c._idle_since) if idle else self
        victim.transport.close()


def protocol_class(header_timeout: float, max_connections: int) -> type:
    """GuardedH11Protocol with these settings (uvicorn instantiates the class itself)."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout": header_timeout, "max_connections": max_connections},
    )


def raise_file_limit(max_connections: int) -> None:
    """Let the process hold max_connections sockets besides its model files."""
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        except (ValueError, OSError):
            pass
