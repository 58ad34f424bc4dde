"""nanogpt_lite.websocket: the kernel websocket with Nagle's algorithm off (the latency it saves is in `make bench`)."""
from __future__ import annotations

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from jupyter_server.services.kernels.connection.base import BaseKernelWebsocketConnection

from nanogpt_lite.websocket import CLASS_NAME, NoDelayConnection


class FakeHandler:
    def __init__(self) -> None:
        self.nodelay: list[bool] = []

    def set_nodelay(self, value: bool) -> None:
        self.nodelay.append(value)


def test_connecting_turns_nagle_off_first_then_connects_as_jupyter_server_does(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(ZMQChannelsWebsocketConnection, "connect", lambda self: calls.append("connect") or "future")
    connection = NoDelayConnection.__new__(NoDelayConnection)
    handler = FakeHandler()
    connection._trait_values = {"websocket_handler": handler}  # no server here: only the attribute connect() reads
    assert connection.connect() == "future"
    assert handler.nodelay == [True] and calls == ["connect"]


def test_the_config_names_a_kernel_websocket_connection():
    module, _, name = CLASS_NAME.rpartition(".")
    cls = getattr(__import__(module, fromlist=[name]), name)
    assert cls is NoDelayConnection and issubclass(cls, BaseKernelWebsocketConnection)
