"""The day's reference data as stream messages, so apps read it from the log and a replay never depends on files
that changed since. ``RefDataReady`` comes last, carrying the content hash of the files."""
from __future__ import annotations

from sequencer import messages as M

from .load import RefData


def messages(rd: RefData) -> list[M.Msg]:
    out: list[M.Msg] = []
    for sym in sorted(rd.securities):
        s = rd.securities[sym]
        out.append(M.Security(sym, s["name"], s["listing"], s["lot_size"], s["tick"], s["prev_close"], s["adv"],
                              s["volatility_bp"], s["restricted"], s["halted"]))
    for vid in sorted(rd.venues):
        v = rd.venues[vid]
        out.append(M.Venue(vid, v["cat_id"], v["mic"], v["sessions"], v["make_fee"], v["take_fee"], v["fix_host"],
                           v["fix_port"], v["md_port"]))
    for name in sorted(rd.curves):
        c = rd.curves[name]
        out.append(M.VolumeCurve(name, c.open_s, c.bin_s, c.weights_bp, c.close_auction_bp))
    for name, t in rd.tables.items():
        if name in ("securities", "venues", "volume_curves"):
            continue  # published above as their own message types
        out.append(M.RefTable(name, t.columns, t.types, t.rows))
    out.append(M.RefDataReady(rd.content_hash, rd.files, len(rd.securities), len(rd.venues)))
    return out
