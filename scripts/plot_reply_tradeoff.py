"""Draw docs/reply-understanding-tradeoff.svg: reopen precision against recall as min_confidence moves.

Usage: .venv/bin/python scripts/plot_reply_tradeoff.py [--data-dir DIR]
Every point is cross-validated (5-fold: the confidence model never saw the rows it scores). Needs matplotlib
(a dev dependency); the SVG is committed so docs/reply-understanding.md shows it without running anything.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bench.classify import headline  # noqa: E402
from config.settings import load_settings  # noqa: E402
from followup.understanding import fit  # noqa: E402

OUT = ROOT / "docs" / "reply-understanding-tradeoff.svg"
LEVELS = [i / 50 for i in range(51)]


def curve(rows: list[fit.Row]) -> list[tuple[float, float, float]]:
    """(min_confidence, reopen recall, reopen precision) for each level, from one cross-validated run."""
    verdicts, gold = fit.cross_validated(rows), [r.label for r in rows]
    return [(level, *headline(gold, fit.with_min_confidence(verdicts, level))[:2]) for level in LEVELS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    folder = fit.data_dir(args.data_dir)
    spotify, cross = (fit.load(folder / name) for name in fit.DEV_FILES)
    default = load_settings(environ={}).followup.understanding.min_confidence
    plt.rcParams["svg.hashsalt"] = "aftercare"  # the same data draws the same file
    fig, ax = plt.subplots(figsize=(7, 4.6))
    for name, rows, colour, offset in (("Spotify dev (253)", spotify, "tab:green", (-130, 8)),
                                       ("cross-domain dev (196)", cross, "tab:blue", (20, 8)),
                                       ("both (449)", spotify + cross, "black", (20, -18))):
        points = curve(rows)
        ax.plot([r for _, r, _ in points], [p for _, _, p in points], marker=".", color=colour, label=name)
        at = min(points, key=lambda pt: abs(pt[0] - default))
        ax.annotate(f"min_confidence {default:.2f}", (at[1], at[2]), textcoords="offset points", xytext=offset,
                    fontsize=7, color=colour, arrowprops={"arrowstyle": "->", "color": colour})
    ax.axvline(0.97, color="grey", linestyle=":", linewidth=1)
    ax.axhline(0.85, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("reopen recall (unhappy customers caught)")
    ax.set_ylabel("reopen precision (reopens that needed a person)")
    ax.set_title("Raising min_confidence sends more replies to a person (5-fold CV)", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(OUT, format="svg", metadata={"Date": None})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
