"""JupyterLab's kernel websocket with Nagle's algorithm off (TCP_NODELAY), so a widget answers without a 40 ms stall.

jupyter_server relays a kernel's answer to one widget input as several small websocket frames (status busy, the
view's update, status idle) and leaves Nagle's algorithm on. The operating system then holds each small frame after
the first until the browser acknowledges that one, and the browser delays its acknowledgement by up to 40 ms.
Measured on this project's widgets: about 45 ms of every input's round trip, while the kernel itself answers in 2.5.

``make setup`` (and so ``make lab``) selects this class in the venv's jupyter_server config, the class hub in its
single-user servers' arguments: ``ServerApp.kernel_websocket_connection_class = "nanogpt_lite.websocket.NoDelayConnection"``.
"""
from __future__ import annotations

import asyncio

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

CONFIG_KEY = "kernel_websocket_connection_class"
CLASS_NAME = f"{__name__}.NoDelayConnection"


class NoDelayConnection(ZMQChannelsWebsocketConnection):
    """jupyter_server's kernel websocket connection, with TCP_NODELAY set once the websocket is open."""

    def connect(self) -> asyncio.Future[None] | None:
        self.websocket_handler.set_nodelay(True)
        return super().connect()
