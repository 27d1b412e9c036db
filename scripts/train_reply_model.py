"""Train the reply model (followup/understanding/model.json) from the two development files, reproducibly.

Usage: .venv/bin/python scripts/train_reply_model.py [--data-dir DIR]
DIR defaults to $AFTERCARE_REPLY_DATA, else ../shared/data beside the checkout (replies-dev.jsonl and
replies-crossdomain-dev.jsonl). Same data, same code → the same file (fixed seed, rounded weights).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from followup.understanding import fit  # noqa: E402
from followup.understanding.model import MODEL_FILE  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args()
    folder = fit.data_dir(args.data_dir)
    rows = [row for name in fit.DEV_FILES for row in fit.load(folder / name)]
    model = fit.train(rows)
    args.out.write_text(json.dumps(model.as_json(), indent=1) + "\n", encoding="utf-8")
    print(f"trained on {len(rows)} replies from {folder}: "
          f"{len(model.names)} features -> {args.out}")


if __name__ == "__main__":
    main()
