"""What every benchmark script shares: writing its JSON result."""

import json


def write_json(result: dict, path) -> dict:
    """Write ``result`` to ``path`` (when given, as ``--json`` asks) and return it."""
    if path:
        with open(path, "w") as f:
            json.dump(result, f, indent=2)
    return result
