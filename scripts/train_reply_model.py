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

DEV_FILES = ("replies-dev.jsonl", "replies-crossdomain-dev.jsonl")


def data_dir(given: Path | None = None) -> Path:
    """Where the development files are: --data-dir, $AFTERCARE_REPLY_DATA, or a shared/data folder above us."""
    import os

    candidates = [given] if given else []
    if env := os.environ.get("AFTERCARE_REPLY_DATA"):
        candidates.append(Path(env))
    candidates += [parent / "shared" / "data" for parent in ROOT.parents]
    for candidate in candidates:
        if candidate and all((candidate / name).is_file() for name in DEV_FILES):
            return candidate
    raise SystemExit(f"development files {DEV_FILES} not found; pass --data-dir")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args()
    folder = data_dir(args.data_dir)
    rows = [row for name in DEV_FILES for row in fit.load(folder / name)]
    model = fit.train(rows)
    args.out.write_text(json.dumps(model.as_json(), indent=1) + "\n", encoding="utf-8")
    print(f"trained on {len(rows)} replies from {folder}: "
          f"{len(model.names)} features -> {args.out}")


if __name__ == "__main__":
    main()
