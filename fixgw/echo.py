"""``seqtrade fix-echo``: our session layer with an application that echoes, for conformance testing.

NewOrderSingle is echoed back (a PossResend duplicate of a ClOrdID already seen is dropped), SecurityDefinition is
echoed back, and any other application message gets a BusinessMessageReject with BusinessRejectReason 3.
"""
from __future__ import annotations

import asyncio
import signal

from .session import SessionConfig
from .tcp import Acceptor

# the per-session settings the command line may set (names as in the cluster file)
SETTINGS = ("reset_on_logon", "reset_on_logout", "reset_on_disconnect", "validate_user_defined_fields",
            "allow_unknown_msg_fields", "validate_fields_out_of_order", "validate_fields_have_values",
            "check_latency", "max_latency_s", "logon_timeout_s")

ADMIN_OR_REJECTS = ("j",)
HEADER_TAGS = {8, 9, 35, 49, 56, 34, 52, 43, 97, 122, 115, 128, 50, 57, 10}


class EchoApp:
    def __init__(self):
        self.seen_clordids: dict[str, bool] = {}

    def __call__(self, conn, msgtype: str, fields) -> None:
        body = [(int(t), v.decode(errors="replace")) for t, v in fields if int(t) not in HEADER_TAGS]
        values = {int(t): v for t, v in fields}
        if msgtype == "D":
            clordid = values[11].decode(errors="replace")
            if values.get(97) == b"Y" and clordid in self.seen_clordids:
                return  # a PossResend of an order we already have: do not act on it twice
            self.seen_clordids[clordid] = True
            conn.send_app("D", body)
        elif msgtype == "d":
            conn.send_app("d", body)
        elif msgtype in ADMIN_OR_REJECTS:
            return   # a peer's BusinessMessageReject is not answered with another
        else:
            conn.send_app("j", [(45, values[34].decode()), (372, msgtype), (380, 3),
                                (58, f"message type {msgtype} is not supported by the echo application")])


def run(port: int, sender: str, target: str, begin: str, heartbeat_s: int = 30, host: str = "127.0.0.1",
        options: dict | None = None) -> int:
    async def main():
        acc = Acceptor([SessionConfig(begin, sender, target, heartbeat_s=heartbeat_s, **(options or {}))], EchoApp())
        bound = await acc.start(host, port)
        print(f"fix-echo: {begin} {sender} <- {target} listening on {host}:{bound}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        acc.server.close()
    asyncio.run(main())
    return 0
