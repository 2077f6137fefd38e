"""Load YAML files with PyYAML (YAML 1.1 resolution, as Go's YAML readers do) and
print their documents as JSON: one list of documents per file, in argument order.
Values YAML 1.1 turns into dates or other non-JSON types are printed as tagged
strings so that a test comparing them with kiln's values fails loudly."""
import json
import sys

import yaml


def plain(value):
    return {"!non-json": repr(value)}


out = []
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        out.append([d for d in yaml.safe_load_all(f) if d is not None])
json.dump(out, sys.stdout, default=plain)
