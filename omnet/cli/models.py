"""``omnet models``: list the model variants and the bundled model files."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list model variants and bundled models",
                       description="List the OM-Net variants and the bundled model files.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from omnet.bundled import list_bundled_models
    from omnet.registry import list_variants

    variants = [{"name": v.name, "title": v.title, "description": v.description}
                for v in list_variants()]
    bundled = [{"path": str(path), "name": card.name, "variant": card.model.variant,
                "width": card.model.width, "members": card.model.members,
                "networks": card.model.ensemble_text(),
                "metrics": card.metrics}
               for path, card in list_bundled_models()]
    if args.json:
        print(json.dumps({"variants": variants, "bundled": bundled}, indent=2))
        return 0
    print("Variants:")
    for v in variants:
        print(f"  {v['name']:<16} {v['title']:<14} {v['description']}")
    print("Bundled models:" if bundled else "Bundled models: none")
    for b in bundled:
        networks = f", {b['networks']}" if b["networks"] else ""
        print(f"  {b['name']:<24} {b['variant']} width {b['width']}{networks}  {b['path']}")
    return 0
