"""Outage tests' helpers: a database URL nothing answers at, the providers' inbound posts, and a SIMULATED network
fault — a small TCP proxy between the service and PostgreSQL that can drop every connection it carries and refuse
new ones (its listening socket closed: connect() gets ECONNREFUSED), then listen again on the same port, as a
database behind a failover or a network blip looks to the service."""
from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy.engine import make_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unreachable_url(database_url: str, tmp_path: Path) -> str:
    """The same kind of database, unreachable: PostgreSQL on a port nothing listens on; for SQLite a directory
    where the file should be (the driver cannot open it)."""
    if database_url.startswith("sqlite"):
        directory = tmp_path / "unreachable.db"
        directory.mkdir(exist_ok=True)
        return f"sqlite:///{directory}"
    return make_url(database_url).set(host="127.0.0.1", port=free_port()).render_as_string(hide_password=False)


def sms_form(sid: str, body: str = "No, still broken. Please call me.", sender: str = "+447700900123") -> dict:
    return {"From": sender, "To": "+15005550006", "Body": body, "MessageSid": sid, "AccountSid": "ACtest"}


def inbound_parse_form(message_id: str, text: str = "Still charged twice, nobody called.",
                       sender: str = "sam@example.com", spf: str = "pass") -> dict:
    """An Inbound Parse post: a reply with no token, so SendGrid's SPF verdict decides whether it is trusted."""
    return {"to": "care@in.acme.example", "from": f"Sam Carter <{sender}>", "subject": "Re: sorted?", "text": text,
            "envelope": json.dumps({"to": ["care@in.acme.example"], "from": sender}), "SPF": spf,
            "dkim": "none", "headers": f"Message-ID: {message_id}\nFrom: {sender}\n", "charsets": "{}"}


class FaultProxy:
    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.cuts = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def proxied(self, url: str) -> str:
        """`url` (a SQLAlchemy URL to the target) going through this proxy instead."""
        return make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def start(self) -> "FaultProxy":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: refusing
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(src, dst)

    def _drop(self, *socks: socket.socket) -> None:
        for sock in socks:
            with self._lock:
                self._open.discard(sock)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def cut(self) -> None:
        """Refuse new connections and drop every open one, mid-statement or idle in a pool."""
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
            except OSError:
                pass
            listener.close()
        with self._lock:
            open_now = list(self._open)
        self._drop(*open_now)
        self.cuts += 1

    def restore(self) -> None:
        """Listen again on the same port."""
        deadline = time.monotonic() + 10
        while True:
            try:
                self.start()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def outage(self) -> Iterator[None]:
        self.cut()
        try:
            yield
        finally:
            self.restore()

    def stop(self) -> None:
        self.cut()
