"""Two versions of one output side by side, the differing fields marked: what a person needs at a divergence."""
from __future__ import annotations

from sequencer import messages as M


def _decoded(item):
    if item is None:
        return None
    typ, payload = item
    try:
        return M.to_display(M.decode(payload, typ))
    except ValueError as e:
        return {"type": f"?{typ}", "undecodable": str(e)}


def side_by_side(regenerated, recorded) -> str:
    """``regenerated``/``recorded``: ``(type, payload)`` or None (nothing made / nothing recorded)."""
    a, b = _decoded(regenerated), _decoded(recorded)
    if a is None or b is None:
        return f"  regenerated: {a if a is not None else '(nothing)'}\n  recorded:    {b if b is not None else '(nothing)'}"
    names = list(dict.fromkeys(list(a) + list(b)))
    width = max(len(n) for n in names)
    lines = [f"  {'field':<{width}}  {'regenerated':<30}  recorded"]
    for n in names:
        va, vb = a.get(n, "(absent)"), b.get(n, "(absent)")
        mark = "  <-- differs" if va != vb else ""
        lines.append(f"  {n:<{width}}  {str(va):<30}  {vb}{mark}")
    return "\n".join(lines)
