"""Build volano/core/data/italy.json from shared/data/italy (ISTAT via Garda Informatica, MIT).

Run from the repository root: python tools/build_italy_data.py ../shared/data/italy
Keeps only what the product needs: regions, provinces, and each comune with its CAPs.
"""

import json
import sys
from pathlib import Path

source = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/italy")
rows = json.loads((source / "gi_comuni_cap.json").read_text())
provinces = json.loads((source / "gi_province.json").read_text())
regions = json.loads((source / "gi_regioni.json").read_text())

region_names = {r["codice_regione"]: r["denominazione_regione"] for r in regions}
comuni: dict[str, dict] = {}
for row in rows:
    comune = comuni.setdefault(
        row["codice_istat"],
        {
            "istat": row["codice_istat"],
            "name": row["denominazione_ita"],
            "province": row["sigla_provincia"],
            "caps": [],
        },
    )
    comune["caps"].append(row["cap"])

data = {
    "source": "Fonte: ISTAT; elaborazione Garda Informatica (MIT), via spritzcoder/italian-cap-comuni-province (MIT)",
    "regions": [
        {
            "code": r["codice_regione"],
            "name": r["denominazione_regione"],
            "area": r["ripartizione_geografica"],
        }
        for r in sorted(regions, key=lambda r: r["codice_regione"])
    ],
    "provinces": [
        {
            "code": p["sigla_provincia"],
            "name": p["denominazione_provincia"],
            "region": region_names[p["codice_regione"]],
        }
        for p in sorted(provinces, key=lambda p: p["sigla_provincia"])
    ],
    "comuni": [[c["istat"], c["name"], c["province"], sorted(c["caps"])] for c in comuni.values()],
}
out = Path("volano/core/data/italy.json")
out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
print(
    f"{out}: {len(data['regions'])} regions, {len(data['provinces'])} provinces, {len(data['comuni'])} comuni"
)
