"""Bench: classify_reply against a sentiment-only baseline on labelled replies, in one run.

Usage: .venv/bin/python bench/classify.py [--data PATH] [--repeat N] [--errors]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from followup.understanding import INTENTS, classify_reply  # noqa: E402

DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "replies-dev.jsonl"


_VADER = SentimentIntensityAnalyzer()


def baseline(text: str) -> str:
    """Sentiment only: VADER compound with the usual ±0.05 thresholds."""
    compound = _VADER.polarity_scores(text)["compound"]
    return "resolved" if compound >= 0.05 else "reopen" if compound <= -0.05 else "ack"


def ours(text: str) -> str:
    """The classifier under test, reduced to its intent."""
    return classify_reply(text).intent


def timed(predict, texts: list[str], repeat: int) -> tuple[list[str], float]:
    """Predictions and mean seconds per reply over `repeat` passes."""
    predict(texts[0])  # build the model outside the timing
    start = time.perf_counter()
    for _ in range(repeat):
        predictions = [predict(t) for t in texts]
    return predictions, (time.perf_counter() - start) / (repeat * len(texts))


def scores(gold: list[str], pred: list[str]) -> dict[str, tuple[float, float, float, int]]:
    """Precision, recall, F1 and support per intent."""
    out = {}
    for intent in INTENTS:
        tp = sum(g == p == intent for g, p in zip(gold, pred))
        n_pred, n_gold = pred.count(intent), gold.count(intent)
        p = tp / n_pred if n_pred else 0.0
        r = tp / n_gold if n_gold else 0.0
        out[intent] = (p, r, 2 * p * r / (p + r) if p + r else 0.0, n_gold)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=5, help="timing passes over the data")
    parser.add_argument("--errors", action="store_true", help="also list rows classify_reply gets wrong")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts, gold = [r["text"] for r in rows], [r["label"] for r in rows]
    present = [i for i in INTENTS if i in gold]

    base_pred, base_t = timed(baseline, texts, args.repeat)
    our_pred, our_t = timed(ours, texts, args.repeat)
    base_s, our_s = scores(gold, base_pred), scores(gold, our_pred)

    print(f"data: {args.data.resolve()}  ({len(rows)} rows: {dict(Counter(gold))})\n")
    print(f"{'intent':<9} {'n':>4} | {'baseline (VADER only)':^22} | {'classify_reply':^22}")
    print(f"{'':<9} {'':>4} | {'P':>6} {'R':>7} {'F1':>7} | {'P':>6} {'R':>7} {'F1':>7}")
    for intent in INTENTS:
        (bp, br, bf, n), (op, orr, of, _) = base_s[intent], our_s[intent]
        print(f"{intent:<9} {n:>4} | {bp:6.2f} {br:7.2f} {bf:7.2f} | {op:6.2f} {orr:7.2f} {of:7.2f}")
    base_macro = sum(base_s[i][2] for i in present) / len(present)
    our_macro = sum(our_s[i][2] for i in present) / len(present)
    print(f"{'macro-F1':<9} {'':>4} | {'':>14} {base_macro:7.2f} | {'':>14} {our_macro:7.2f}"
          f"   (over {', '.join(present)})")
    hard = [i for i, r in enumerate(rows) if r.get("hard")]
    print(f"hard rows right: baseline {sum(base_pred[i] == gold[i] for i in hard)}/{len(hard)}, "
          f"classify_reply {sum(our_pred[i] == gold[i] for i in hard)}/{len(hard)}")
    print(f"time per reply: baseline {base_t * 1e6:.0f} µs, classify_reply {our_t * 1e6:.0f} µs "
          f"({our_t / base_t:.1f}x baseline)\n")

    print("confusion matrix, classify_reply (rows = gold, columns = predicted)")
    print(f"{'':<9}" + "".join(f"{i:>9}" for i in INTENTS))
    for g in INTENTS:
        print(f"{g:<9}" + "".join(f"{sum(a == g and b == p for a, b in zip(gold, our_pred)):>9}" for p in INTENTS))

    if args.errors:
        print("\nwrong rows (gold -> predicted):")
        for r, p in zip(rows, our_pred):
            if p != r["label"]:
                print(f"  {r['label']:>8} -> {p:<8} {'H' if r.get('hard') else ' '} {r['text'][:110]!r}")
                print(f"{'':>22}{classify_reply(r['text']).reasons}")


if __name__ == "__main__":
    main()
