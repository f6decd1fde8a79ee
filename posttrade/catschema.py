"""The CAT Industry Member schema facts the project needs, in ``cat_schema_4_1_0.json`` beside this file: the data
types, the choice lists, the name/value pair definitions and the equity order events an agency algo broker reports
(MENO, MEOA, MEOR, MEMR, MECR, MEOM, MEOC), taken from FINRA's machine-readable CAT IM schema v4.1.0 r15.

``python -m posttrade.catschema SCHEMA.json`` re-extracts it from a newer official schema file."""
from __future__ import annotations

import json
import os
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cat_schema_4_1_0.json")
EVENTS = ("MENO", "MEOA", "MEOR", "MEMR", "MECR", "MEOM", "MEOC")
# Exchange IDs (CAT "Exchange ID" data type: not MIC codes)
EXCHANGE_IDS = ("AMER", "AMEROP", "ARCA", "ARCAOP", "BOX", "BSTX", "BX", "BYX", "BZX", "BZXOP", "C2", "CBOE", "CHX",
                "EDGA", "EDGX", "EDGXOP", "EMLD", "GEMX", "IEX", "ISE", "LTSE", "MEMX", "MEMXOP", "MIAMI", "MRX",
                "NOBO", "NOM", "NSDQ", "NSX", "NYSE", "PEARL", "PEARLEQ", "PHLX", "PSX", "SPHR", "24X", "TXSE")


def extract(src: str, dst: str = HERE) -> None:
    with open(src) as f:
        d = json.load(f)
    out = {"version": d["version"], "source": os.path.basename(src), "dataTypes": d["dataTypes"],
           "choices": d["choices"], "nameValuePairDefinitions": d["nameValuePairDefinitions"],
           "exchangeIDs": list(EXCHANGE_IDS),
           "eventDefinitions": [e for e in d["eventDefinitions"] if e["eventName"] in EVENTS]}
    with open(dst, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


def load() -> dict:
    with open(HERE) as f:
        return json.load(f)


if __name__ == "__main__":
    extract(sys.argv[1])
