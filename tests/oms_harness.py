"""A small driver for OrderManager tests: feeds messages with increasing seq and time, keeps every output."""
import msgspec

from oms.manager import OrderManager
from oms.risk import open_limits
from sequencer import messages as M

T0 = 1_790_000_000_000_000_000
PX = M.PRICE_SCALE


def firm(**limits) -> M.RiskLimits:
    """The firm's record: every required limit explicitly unlimited, except those given."""
    return msgspec.structs.replace(open_limits(), **limits)


class Harness:
    def __init__(self, securities=("AAPL", "MSFT"), limits=(open_limits(),)):
        """``limits``: the risk records published first; the default is a firm record that sets every limit to
        unlimited, explicitly
        (with none at all the OMS refuses every order: it fails closed)."""
        self.om = OrderManager()
        self.seq = 0
        self.now = T0
        self.out = []
        self.updates = []
        for sym in securities:
            self.send(M.Security(sym, lot_size=100, tick_px=PX // 100, prev_close_px=100 * PX))
        for lim in limits:
            self.send(lim)
        self.out.clear()

    def send(self, msg, dt_ns=1_000):
        """What the OMS said to clients and venues (and alerts); its ParentUpdates to the algo are kept apart, in
        ``updates``, so the tests of client and venue behaviour read as the FIX rules do."""
        self.seq += 1
        self.now += dt_ns
        got = self.om.handle(msg, self.now, self.seq)
        self.updates.extend(m for m in got if type(m) is M.ParentUpdate)
        got = [m for m in got if type(m) is not M.ParentUpdate]
        self.out.extend(got)
        return got

    def timer(self, token, at):
        self.now = max(self.now, at)
        got = self.om.on_timer(token, self.now)
        self.out.extend(got)
        return got

    def new(self, cl="c1", qty=1000, px=100 * PX, side="1", client="acme", sym="AAPL", ord_type="2", **kw):
        got = self.send(M.NewOrder(client, cl, sym, side, qty, ord_type, px, **kw))
        er = got[-1]
        return er

    def child(self, parent_id, cid, qty, px=100 * PX, venue="XNAS", side="1", sym="AAPL", ord_type="2"):
        return self.send(M.ChildNewRequest(parent_id, cid, venue, sym, side, qty, ord_type, px))

    def ers(self, got=None):
        return [m for m in (self.out if got is None else got) if isinstance(m, M.ExecReport)]


def state(er):
    return (er.exec_type, er.ord_status, er.cum_qty, er.leaves_qty)
