"""Bench: classify_reply against a sentiment-only baseline (VADER), on every labelled set, in one run.

Usage: .venv/bin/python bench/classify.py [--data-dir DIR] [--min-confidence X] [--repeat N] [--errors]

What is measured how (printed again above each table):
- The rules (cue readers) were written with both development files in view: their figures are in-sample by
  construction. The learned part is the confidence model (it decides which verdicts go to a person below
  min_confidence); "in-sample" uses the shipped model.json (fitted on both files), "5-fold CV" refits it on
  four fifths and scores the fifth, "cross-domain" fits it on one file and scores the other.
- The held-out sets (tests/data/replies-holdout*.jsonl, other support domains) are never fitted on. The first was
  measured before the last rule changes, which were then written for its error classes, so it is now partly
  in-sample; the second was collected and labelled after the rules were frozen: the honest estimate for
  unseen replies (docs/reply-understanding.md).
- The language sets (tests/data/replies-<lang>.jsonl) were never used to fit anything.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from config.settings import load_settings  # noqa: E402
from followup.understanding import NEEDS_READING, ReplyContext, classify_reply, fit, model  # noqa: E402

TARGETS = {"reopen recall": 0.97, "reopen precision": 0.85, "macro-F1": 0.80}
SCORED = ("reopen", "resolved", "ack")
_VADER = SentimentIntensityAnalyzer()


def baseline(text: str) -> str:
    """Sentiment only: VADER compound with the usual ±0.05 thresholds."""
    compound = _VADER.polarity_scores(text)["compound"]
    return "resolved" if compound >= 0.05 else "reopen" if compound <= -0.05 else "ack"


def per_intent(gold: list[str], pred: list[str]) -> dict[str, tuple[float, float, float, int]]:
    """Precision, recall, F1 and support per intent."""
    out = {}
    for intent in SCORED + ("opt_out",):
        tp = sum(g == p == intent for g, p in zip(gold, pred))
        n_pred, n_gold = pred.count(intent), gold.count(intent)
        p = tp / n_pred if n_pred else 0.0
        r = tp / n_gold if n_gold else 0.0
        out[intent] = (p, r, 2 * p * r / (p + r) if p + r else 0.0, n_gold)
    return out


def headline(gold: list[str], pred: list[str]) -> tuple[float, float, float]:
    """Reopen recall, reopen precision, macro-F1 over the intents present in gold."""
    s = per_intent(gold, pred)
    present = [i for i in SCORED if i in gold]
    return s["reopen"][1], s["reopen"][0], sum(s[i][2] for i in present) / len(present)


def met(figures: tuple[float, float, float]) -> str:
    misses = [name for name, value in zip(TARGETS, figures) if value < TARGETS[name]]
    return "all met" if not misses else "misses " + ", ".join(misses)


def fmt(figures: tuple[float, float, float]) -> str:
    return " ".join(f"{v:6.3f}" for v in figures)


def table(title: str, note: str, lines: list[tuple[str, int, list[str], dict[str, list[str]]]]) -> None:
    """One row per set: the baseline's and each column's reopen recall, reopen precision and macro-F1."""
    columns = [c for c in lines[0][3] if c != "_baseline"]
    print(f"\n## {title}\n{note}")
    head = f"{'set':<24} {'n':>4} | {'VADER only (R P F1)':^20}"
    for c in columns:
        head += f" | {c + ' (R P F1)':^20}"
    print(head + " | targets (ours, last column)")
    for name, n, gold, preds in lines:
        row = f"{name:<24} {n:>4} | {fmt(headline(gold, preds['_baseline']))}"
        for c in columns:
            row += f" | {fmt(headline(gold, preds[c]))}"
        print(row + f" | {met(headline(gold, preds[columns[-1]]))}")


def intents(verdicts) -> list[str]:
    return [v.intent for v in verdicts]


def reliability(rows: list[fit.Row], verdicts) -> None:
    """Calibrated confidence against how often the verdict was right (cross-validated verdicts)."""
    print("\n## Reliability of the confidence (5-fold CV on both dev files: each row scored by a model that did not"
          " see it)\nconfidence bin | replies | mean confidence | right")
    bins = [(0.0, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01)]
    for lo, hi in bins:
        inside = [(v.confidence, v.intent == r.label) for r, v in zip(rows, verdicts) if lo <= v.confidence < hi]
        if inside:
            mean = sum(c for c, _ in inside) / len(inside)
            right = sum(ok for _, ok in inside) / len(inside)
            print(f"  {lo:.1f}–{min(hi, 1.0):.1f}     | {len(inside):>7} | {mean:15.2f} | {right:5.2f}")


def tradeoff(rows: list[fit.Row], levels: list[float]) -> list[tuple[float, float, float, float, float]]:
    """(min_confidence, share sent to a person, reopen recall, reopen precision, macro-F1), cross-validated."""
    gold, verdicts = [r.label for r in rows], fit.cross_validated(rows)
    out = []
    for level in levels:
        pred = fit.with_min_confidence(verdicts, level)
        to_person = sum(p != v.intent for p, v in zip(pred, verdicts)) / len(rows)
        out.append((level, to_person, *headline(gold, pred)))
    return out


def timing(texts: list[str], repeat: int) -> tuple[float, float]:
    """Mean seconds per reply: baseline, classify_reply (models loaded before the clock starts)."""
    baseline(texts[0]), classify_reply(texts[0])
    result = []
    for predict in (baseline, classify_reply):
        start = time.perf_counter()
        for _ in range(repeat):
            for text in texts:
                predict(text)
        result.append((time.perf_counter() - start) / (repeat * len(texts)))
    return result[0], result[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--min-confidence", type=float, default=None,
                        help="default: followup.understanding.min_confidence from the settings")
    parser.add_argument("--repeat", type=int, default=3, help="timing passes over the data")
    parser.add_argument("--errors", action="store_true", help="also list the rows we get wrong (cross-validated)")
    args = parser.parse_args()
    level = args.min_confidence if args.min_confidence is not None else (
        load_settings().followup.understanding.min_confidence)
    folder = fit.data_dir(args.data_dir)
    spotify, cross = (fit.load(folder / name) for name in fit.DEV_FILES)
    both = spotify + cross
    shipped = model.load()
    gold = {"Spotify dev": [r.label for r in spotify], "cross-domain dev": [r.label for r in cross]}
    print(f"# Reply understanding bench (min_confidence {level:.2f}; targets: reopen recall ≥ 0.97, reopen "
          f"precision ≥ 0.85, macro-F1 ≥ 0.80 over reopen/resolved/ack)\ndata: {folder}")
    print(f"rows: Spotify dev {len(spotify)} {dict(Counter(gold['Spotify dev']))}; cross-domain dev {len(cross)} "
          f"{dict(Counter(gold['cross-domain dev']))}")

    cv = fit.cross_validated(both, min_confidence=level)
    rules = [r.rule for r in both]
    insample = intents(fit.predict(shipped, both, level))
    base = [baseline(r.text) for r in both]
    n = len(spotify)
    lines = []
    for name, sl in (("Spotify dev", slice(0, n)), ("cross-domain dev", slice(n, None)), ("both together",
                                                                                             slice(None))):
        part = both[sl]
        lines.append((name, len(part), [r.label for r in part], {
            "_baseline": base[sl], "rules (in-sample)": rules[sl], "+model in-sample": insample[sl],
            "+model 5-fold CV": intents(cv[sl])}))
    table("Dev files", "rules: as written (they saw both files); +model: the verdict after min_confidence, with the"
          " confidence model fitted on all rows (in-sample) or on the other folds (5-fold CV)", lines)

    s_to_x = intents(fit.predict(fit.train(spotify), cross, level))
    x_to_s = intents(fit.predict(fit.train(cross), spotify, level))
    table("Cross-domain check", "the confidence model fitted on one file only and scored on the other "
          "(the rules are the same in both directions)", [
              ("fit Spotify → cross", len(cross), gold["cross-domain dev"],
               {"_baseline": base[n:], "ours": s_to_x}),
              ("fit cross → Spotify", len(spotify), gold["Spotify dev"],
               {"_baseline": base[:n], "ours": x_to_s})])

    held_lines = []
    for name, path in fit.HOLDOUT_FILES.items():
        if path.is_file():
            held = fit.load(path)
            held_gold = [r.label for r in held]
            held_lines.append((name, len(held), held_gold, {"_baseline": [baseline(r.text) for r in held],
                                                            "ours": intents(fit.predict(shipped, held, level))}))
    if held_lines:
        table("Held-out, other support domains (never fitted on)", "real replies from GitHub support threads, "
              "labelled blind; held-out 1 was measured once before the last rule changes (some rules were then "
              "written for its error classes, so this row is now partly in-sample), held-out 2 only after them; "
              "shipped model", held_lines)

    lang_lines, lang_found = [], []
    for lang, path in fit.LANGUAGE_FILES.items():
        if not path.is_file():
            continue
        rows = fit.load(path, ReplyContext())
        verdicts = fit.predict(shipped, rows, level)
        lang_found.append(f"{lang} {sum(v.language == lang for v in verdicts)}/{len(rows)}")
        lang_lines.append((f"{lang} ({path.name})", len(rows), [r.label for r in rows],
                           {"_baseline": [baseline(r.text) for r in rows], "ours (never fitted on it)":
                            intents(verdicts)}))
    if lang_lines:
        table("Per language", "real public replies with provenance (tests/data/README.md); shipped model, no "
              "locale hint; the baseline is English VADER", lang_lines)
        print("language identified correctly: " + ", ".join(lang_found))

    print("\n## Per intent, both dev files (5-fold CV)\nintent      n |  P      R      F1")
    for intent, (p, r, f1, count) in per_intent([r.label for r in both], intents(cv)).items():
        if count:
            print(f"{intent:<9} {count:>4} | {p:5.2f} {r:6.2f} {f1:6.2f}")
    reliability(both, cv)

    print("\n## min_confidence trade-off (5-fold CV, both dev files): a lower bar trusts more verdicts\n"
          "min_confidence | to a person | reopen R | reopen P | macro-F1")
    for lvl, share, r, p, f1 in tradeoff(both, [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9]):
        print(f"{lvl:14.2f} | {share:11.2f} | {r:8.3f} | {p:8.3f} | {f1:8.3f}")

    base_t, our_t = timing([r.text for r in both], args.repeat)
    print(f"\ntime per reply: baseline {base_t * 1e3:.3f} ms, classify_reply {our_t * 1e3:.3f} ms "
          f"({our_t / base_t:.1f}x baseline)")

    if args.errors:
        print("\nwrong rows, cross-validated (gold -> predicted):")
        for r, v in zip(both, cv):
            if v.intent != r.label:
                print(f"  {r.label:>8} -> {v.intent:<8} {'H' if r.hard else ' '} {r.text[:110]!r}\n{'':>22}{v.reasons[:3]}")


if __name__ == "__main__":
    main()
