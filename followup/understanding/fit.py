"""Fitting the confidence model from labelled replies, and scoring it honestly (k-fold, cross-domain).

Development tooling: it needs scikit-learn (a dev dependency), used by scripts/train_reply_model.py and
bench/classify.py, never by classify_reply.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from followup.understanding import ReplyContext, ReplyVerdict, _weigh, read_reply
from followup.understanding.cues import Cues
from followup.understanding.model import Model, features

ROOT = Path(__file__).resolve().parents[2]
DEV_FILES = ("replies-dev.jsonl", "replies-crossdomain-dev.jsonl")
LANGUAGE_FILES = {lang: ROOT / "tests" / "data" / f"replies-{lang}.jsonl" for lang in ("es", "fr", "de", "pt")}
# Never fitted on (tests/data/README.md): the first was measured before the last rule changes, the second after.
HOLDOUT_FILES = {"held-out 1 (before)": ROOT / "tests" / "data" / "replies-holdout.jsonl",
                 "held-out 2 (after)": ROOT / "tests" / "data" / "replies-holdout2.jsonl"}
SEED = 0
FOLDS = 5
C = 0.3  # inverse L2 strength: the cue features are few and correlated, so keep the weights small


def data_dir(given: Path | None = None) -> Path:
    """Where the development files are: `given`, $AFTERCARE_REPLY_DATA, or a shared/data folder above us."""
    import os

    candidates = [given] if given else []
    if env := os.environ.get("AFTERCARE_REPLY_DATA"):
        candidates.append(Path(env))
    candidates += [parent / "shared" / "data" for parent in ROOT.parents]
    for candidate in candidates:
        if candidate and all((candidate / name).is_file() for name in DEV_FILES):
            return candidate
    raise SystemExit(f"development files {DEV_FILES} not found: pass --data-dir or set AFTERCARE_REPLY_DATA")


@dataclass
class Row:
    """A labelled reply and what the readers made of it (a verdict before the model, or cues for it)."""

    text: str
    label: str
    hard: bool
    source: str
    reading: ReplyVerdict | Cues

    @property
    def rule(self) -> str:
        return self.reading.rule if isinstance(self.reading, Cues) else self.reading.intent


def load(path: Path | str, context: ReplyContext | None = None) -> list[Row]:
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    context = context or ReplyContext()
    return [Row(r["text"], r["label"], bool(r.get("hard")), str(r.get("source", "")),
                read_reply(r["text"], context)) for r in rows]


def _weighed(rows: list[Row]) -> list[Row]:
    return [r for r in rows if isinstance(r.reading, Cues)]


def _matrix(rows: list[Row], names: list[str]):
    import numpy as np

    return np.array([[features(r.reading).get(n, 0.0) for n in names] for r in rows])


def _fit_lr(rows: list[Row], names: list[str]):
    from sklearn.linear_model import LogisticRegression

    right = [r.rule == r.label for r in rows]
    if len(set(right)) < 2:  # every verdict right (or wrong): nothing to separate
        return None
    return LogisticRegression(C=C, max_iter=2000, random_state=SEED).fit(_matrix(rows, names), right)


def _raw(lr, rows: list[Row], names: list[str]) -> list[float]:
    if lr is None or not rows:
        return [0.5] * len(rows)
    return [float(p) for p in lr.predict_proba(_matrix(rows, names))[:, list(lr.classes_).index(True)]]


def _folds(rows: list[Row], k: int, seed: int):
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(rows, [r.label for r in rows])


def _isotonic(raw: list[float], right: list[bool]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, [float(r) for r in right])
    return tuple(round(float(x), 4) for x in iso.X_thresholds_), tuple(round(float(y), 4) for y in iso.y_thresholds_)


def train(rows: list[Row], k: int = FOLDS) -> Model:
    """Weights from all rows; the calibration map from out-of-fold scores (never from in-sample ones)."""
    weighed = _weighed(rows)
    names = sorted(features(weighed[0].reading))
    oof = [0.5] * len(weighed)
    for train_idx, test_idx in _folds(weighed, k, SEED):
        lr = _fit_lr([weighed[i] for i in train_idx], names)
        for i, p in zip(test_idx, _raw(lr, [weighed[i] for i in test_idx], names)):
            oof[i] = p
    cal_x, cal_y = _isotonic(oof, [r.rule == r.label for r in weighed])
    lr = _fit_lr(weighed, names)
    coef = [round(float(w), 5) for w in lr.coef_[0]] if lr is not None else [0.0] * len(names)
    return Model(names=tuple(names), coef=tuple(coef), intercept=round(float(lr.intercept_[0]), 5) if lr else 0.0,
                 calibration_x=cal_x, calibration_y=cal_y)


def predict(m: Model, rows: list[Row], min_confidence: float = 0.0) -> list[ReplyVerdict]:
    return [r.reading if isinstance(r.reading, ReplyVerdict) else _weigh(m, r.reading, min_confidence)
            for r in rows]


def cross_validated(rows: list[Row], min_confidence: float = 0.0, k: int = FOLDS,
                    seed: int = SEED) -> list[ReplyVerdict]:
    """Each row's verdict from a model (weights and calibration) fitted on the other folds only."""
    out: list[ReplyVerdict | None] = [None] * len(rows)
    for train_idx, test_idx in _folds(rows, k, seed):
        m = train([rows[i] for i in train_idx])
        for i, v in zip(test_idx, predict(m, [rows[i] for i in test_idx], min_confidence)):
            out[i] = v
    return out  # type: ignore[return-value]


def with_min_confidence(verdicts: list[ReplyVerdict], level: float) -> list[str]:
    """The intents once resolved/ack verdicts below `level` go to a person (as _weigh does for one reply)."""
    return ["reopen" if v.intent in ("resolved", "ack") and v.confidence < level else v.intent for v in verdicts]
