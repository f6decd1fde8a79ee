"""Extract the FIX 4.2 and 4.4 data dictionaries from the FIX specification's XML data (QuickFIX's FIX42.xml and
FIX44.xml, in ``../shared/reference/fix/``) into the compact data file the project ships (``fixgw/fixdict.json``).

    python -m fixgw.dictgen ../shared/reference/fix fixgw/fixdict.json

The file holds, per version: every field (tag -> name, type, enumerated values), the header and trailer, and every
message (MsgType -> name, category, body). Components are expanded where they are used, so a message's body is a flat
list of items: ``[tag, required]`` for a field and ``[count_tag, required, [items]]`` for a repeating group (its first
item is the group's delimiter). A field of a component that is itself optional is never required.

Nothing here runs at trading time: ``fixgw/dictionary.py`` loads the JSON. Re-run this when the XML changes; a test
checks the shipped file equals a fresh extraction.
"""
from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET

VERSIONS = {"FIX.4.2": "FIX42.xml", "FIX.4.4": "FIX44.xml"}


def _items(node, fields_by_name: dict, components: dict, required_ok: bool) -> list:
    out = []
    for child in node:
        req = required_ok and child.get("required") == "Y"
        if child.tag == "field":
            out.append([fields_by_name[child.get("name")], int(req)])
        elif child.tag == "group":
            members = _items(child, fields_by_name, components, True)
            out.append([fields_by_name[child.get("name")], int(req), members])
        elif child.tag == "component":
            # a component's own required fields are required only when the component is
            out += _items(components[child.get("name")], fields_by_name, components, req)
    return out


def extract(xml_path: str) -> dict:
    root = ET.parse(xml_path).getroot()
    fields = {}
    by_name = {}
    for f in root.find("fields"):
        tag = int(f.get("number"))
        enum = [v.get("enum") for v in f.findall("value")] or None
        fields[str(tag)] = [f.get("name"), f.get("type"), enum]
        by_name[f.get("name")] = tag
    components = {c.get("name"): c for c in (root.find("components") or [])}
    messages = {}
    for m in root.find("messages"):
        messages[m.get("msgtype")] = [m.get("name"), m.get("msgcat"), _items(m, by_name, components, True)]
    return {"fields": fields,
            "header": _items(root.find("header"), by_name, components, True),
            "trailer": _items(root.find("trailer"), by_name, components, True),
            "messages": messages}


def build(src_dir: str) -> dict:
    return {"source": "FIX data dictionaries (QuickFIX FIX42.xml, FIX44.xml); see their licence beside them",
            "versions": {v: extract(f"{src_dir}/{name}") for v, name in VERSIONS.items()}}


def dumps(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m fixgw.dictgen XML_DIR OUT.json", file=sys.stderr)
        return 2
    text = dumps(build(argv[0]))
    with open(argv[1], "w") as f:
        f.write(text)
    print(f"wrote {argv[1]} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
