"""``omnet models``: list the model variants and the bundled model files."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list model variants and bundled models",
                       description="List the OM-Net variants and the bundled model files.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--info", metavar="FILE", default=None,
                   help="check one model file (.safetensors) and show what it is: network, "
                        "inputs, training, figures, sha256, intended use")
    p.set_defaults(func=run)


def show_file(path: str, as_json: bool) -> int:
    """Load ``path`` (checking its card and checksum) and print its summary."""
    from omnet.model.weights import load_model
    from omnet.model_summary import summarize_card, summary_lines

    loaded = load_model(path)
    summary = summarize_card(loaded.card, loaded.path, loaded.file_sha256)
    print(json.dumps(summary.to_dict(), indent=2) if as_json
          else "\n".join(summary_lines(summary)))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.info:
        return show_file(args.info, args.json)
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
