"""``seqtrade report 606``: the SEC Rule 606(b)(3) not-held order handling report, per client, as XML in the shape of
the SEC's schema (``notHeldOrderHandlingCustomerReport``, oh-20191231.xsd): for each venue the client's orders were
routed to, shares routed (and of them IOC), average order size, shares executed, fill rate, average fill size, net
fee or rebate in cents per hundred shares, executions at the midpoint / near side / far side of the NBBO, and
liquidity provided (with average order duration) and removed. All orders here are the broker's own routing
decisions: not directed. The report covers the log's day (a real request covers six months: run it per day and
sum, or over the archive).

Not in the schema's sense of "complete": ``ioiExposedOrd`` is 0 (no IOIs are sent), ``executedAsPrincipalShr`` 0
(agency only), ``furtherRoutableShr`` 0 (children are not routable by the venue)."""
from __future__ import annotations

import datetime as dt

import os
from xml.sax.saxutils import escape

from sequencer.messages import PRICE_SCALE

from .daylog import DayLog


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.2f}" if b else "0.00"


def _cph(amount_px: int, shares: int) -> str:
    """Cents per hundred shares, 4 decimals; amount in PRICE_SCALE units (dollars)."""
    return f"{amount_px * 100 * 100 / PRICE_SCALE / shares:.4f}" if shares else "0.0000"


def venue_stats(log: DayLog, client: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for c in log.children.values():
        p = log.orders.get(c.order.parent_id)
        if p is None or p.new.client != client:
            continue
        ch = c.order
        v = out.setdefault(ch.venue, {k: 0 for k in (
            "orders", "routed", "ioc", "executed", "fills", "fee", "mid", "near", "far", "provided", "removed",
            "provided_fee", "removed_fee", "provided_orders", "duration_ms")})
        v["orders"] += 1
        v["routed"] += ch.qty
        v["ioc"] += ch.qty if ch.tif == "3" else 0
        venue = log.venues.get(ch.venue)
        end = c.ts
        provided = False
        for ts, m in c.events:
            kind = type(m).__name__
            if kind in ("VenueFill", "VenueCanceled", "VenueReject"):
                end = ts
            if kind != "VenueFill":
                continue
            q, side = m.last_qty, ch.side
            v["executed"] += q
            v["fills"] += 1
            nb = log.nbbo_at(ch.symbol, ts)
            if nb and nb[0] and nb[1]:
                mid2 = nb[0] + nb[1]
                if 2 * m.last_px == mid2:
                    v["mid"] += q
                elif (2 * m.last_px < mid2) == (side == "1"):
                    v["near"] += q            # a buy below the mid, a sell above it: the favourable side
                else:
                    v["far"] += q
            fee = (venue.make_fee_px if m.liquidity == "1" else venue.take_fee_px) * q if venue else 0
            v["fee"] += fee
            if m.liquidity == "1":
                v["provided"] += q
                v["provided_fee"] += fee
                provided = True
            else:
                v["removed"] += q
                v["removed_fee"] += fee
        if provided:
            v["provided_orders"] += 1
            v["duration_ms"] += (end - c.ts) // 1_000_000
    return out


def xml(log: DayLog, client: str, bd: str = "SEQTRADE BROKER") -> str:
    d = log.trading_day
    date = f"{d[:4]}-{d[4:6]}-{d[6:]}"
    stats = venue_stats(log, client)
    sent = sum(o.new.qty for o in log.orders.values() if o.new.client == client)
    # the element order and formats of the SEC's schema (oh-20191231.xsd): version, customer, bd, timestamp in UTC
    # with Z; each month lists the venues orders were exposed to by IOI (none here) before the routing venues
    stamp = dt.datetime.fromtimestamp(log.last_ts // 1_000_000_000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    x = ['<?xml version="1.0" encoding="UTF-8"?>', "<notHeldOrderHandlingCustomerReport>",
         "  <version>1.2</version>", f"  <customer>{escape(client)}</customer>", f"  <bd>{escape(bd)}</bd>",
         f"  <timestamp>{stamp}</timestamp>",
         f"  <startDate>{date}</startDate>", f"  <endDate>{date}</endDate>",
         "  <hDirected>", f"    <hMonthly><year>{d[:4]}</year><mon>{int(d[4:6])}</mon><sentShr>0</sentShr>"
         "<executedAsPrincipalShr>0</executedAsPrincipalShr><ioiExposedOrd>0</ioiExposedOrd>"
         "<ioiExposedVenueList/><routingVenueList/></hMonthly>",
         "  </hDirected>", "  <hNondirected>", "    <hMonthly>", f"      <year>{d[:4]}</year>",
         f"      <mon>{int(d[4:6])}</mon>", f"      <sentShr>{sent}</sentShr>",
         "      <executedAsPrincipalShr>0</executedAsPrincipalShr>", "      <ioiExposedOrd>0</ioiExposedOrd>",
         "      <ioiExposedVenueList/>", "      <routingVenueList>"]
    for venue in sorted(stats):
        v, ref = stats[venue], log.venues.get(venue)
        ex = v["executed"]
        x += ["        <iVenue>", f"          <venueName>{escape(venue)}</venueName>",
              f"          <mic>{ref.mic if ref else venue}</mic>",
              f"          <routedShr>{v['routed']}</routedShr>", f"          <iocRoutedShr>{v['ioc']}</iocRoutedShr>",
              "          <furtherRoutableShr>0</furtherRoutableShr>",
              f"          <orderSizeShr>{v['routed'] / v['orders']:.2f}</orderSizeShr>",
              f"          <executedShr>{ex}</executedShr>",
              f"          <filledPct>{_pct(ex, v['routed'])}</filledPct>",
              f"          <fillSizeShr>{ex / v['fills'] if v['fills'] else 0:.2f}</fillSizeShr>",
              # the schema's sign: fees paid negative, rebates received positive
              f"          <netFeeOrRebateCph>{_cph(-v['fee'], ex)}</netFeeOrRebateCph>",
              f"          <midpointShr>{v['mid']}</midpointShr><midpointPct>{_pct(v['mid'], ex)}</midpointPct>",
              f"          <nearsideShr>{v['near']}</nearsideShr><nearsidePct>{_pct(v['near'], ex)}</nearsidePct>",
              f"          <farsideShr>{v['far']}</farsideShr><farsidePct>{_pct(v['far'], ex)}</farsidePct>",
              f"          <providedLiqudityShr>{v['provided']}</providedLiqudityShr>",
              f"          <providedLiquidityPct>{_pct(v['provided'], ex)}</providedLiquidityPct>",
              f"          <orderDurationMsec>{v['duration_ms'] // v['provided_orders'] if v['provided_orders'] else 0}"
              "</orderDurationMsec>",
              f"          <providedLiquidityNetCph>{_cph(-v['provided_fee'], v['provided'])}</providedLiquidityNetCph>",
              f"          <removedLiquidityShr>{v['removed']}</removedLiquidityShr>",
              f"          <removedLiquidityPct>{_pct(v['removed'], ex)}</removedLiquidityPct>",
              f"          <removedLiquidityNetCph>{_cph(-v['removed_fee'], v['removed'])}</removedLiquidityNetCph>",
              "        </iVenue>"]
    x += ["      </routingVenueList>", "    </hMonthly>", "  </hNondirected>", "</notHeldOrderHandlingCustomerReport>"]
    return "\n".join(x) + "\n"


def write(log: DayLog, out_dir: str, bd: str = "SEQTRADE TEST BROKER") -> list[str]:
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for client in sorted({o.new.client for o in log.orders.values()}):
        path = os.path.join(out_dir, f"606b3-{client}-{log.trading_day}.xml")
        with open(path, "w") as f:
            f.write(xml(log, client, bd))
        paths.append(path)
    return paths
