"""TLS on the sequencer link (optional; the standard library's ``ssl``).

``[sequencer] tls_cert``/``tls_key`` put the server on TLS; ``tls_ca`` is the CA that signed the server's certificate
and every app's client certificate (``[apps.NAME] tls_cert``/``tls_key``): with it, the server requires a client
certificate from that CA, and every client checks the server's certificate against it. Inside a cluster the CA is
the cluster's own, so the clients check the chain and not the host name (hosts are named in the cluster file, not
in certificates).

A process's client context is set once, when it reads its own ``[apps.NAME]`` (``config.app_config``), and every
connection it makes to the sequencer (``client.connect``, ``status.query``) uses it.
"""
from __future__ import annotations

import ssl

_client: ssl.SSLContext | None = None


class TlsError(ValueError):
    pass


def server_context(cfg) -> ssl.SSLContext | None:
    if not cfg.tls_cert:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(cfg.tls_cert, cfg.tls_key or None)
        if cfg.tls_ca:
            ctx.load_verify_locations(cfg.tls_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as e:
        raise TlsError(f"{cfg.path}: [sequencer] TLS files: {e}") from None
    return ctx


def use_client(cfg, app) -> None:
    """Set this process's client context from the cluster file (nothing when the link is plain TCP)."""
    global _client
    if not cfg.tls_cert:
        _client = None
        return
    ctx = ssl.create_default_context(cafile=cfg.tls_ca or None)
    ctx.check_hostname = False           # the cluster's own CA; see the module's docstring
    try:
        if app is not None and app.tls_cert:
            ctx.load_cert_chain(app.tls_cert, app.tls_key or None)
    except (OSError, ssl.SSLError) as e:
        raise TlsError(f"{cfg.path}: [apps.{app.name}] TLS files: {e}") from None
    _client = ctx


def client_context() -> ssl.SSLContext | None:
    return _client
