"""`manage.py live_node`: run a live node (WebRTC sessions) and register it with the web side."""

from __future__ import annotations

import signal
import socket
import threading

from django.core.management.base import BaseCommand, CommandError

from live.node import LiveNode


class Command(BaseCommand):
    help = "Run a live node: hold WebRTC talking-face sessions, registered for the web side."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="signalling address (loopback)")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--capacity", type=int, default=1, help="sessions held at once")
        parser.add_argument("--name", default=f"{socket.gethostname()}-live")

    def handle(self, *args, **options) -> None:
        if options["capacity"] < 1:
            raise CommandError("--capacity must be at least 1")
        try:
            node = LiveNode(
                name=options["name"],
                capacity=options["capacity"],
                host=options["host"],
                port=options["port"],
            ).start()
        except OSError as error:
            raise CommandError(f"cannot listen: {error}") from error
        self.stdout.write(f"live node {node.name} at {node.url}, capacity {node.capacity}")
        done = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
        done.wait()
        node.stop()
