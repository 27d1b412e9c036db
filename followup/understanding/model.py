"""The learned part: how sure we are of a verdict. The cues decide the intent (followup.understanding.cues);
a logistic regression over the same cues, calibrated, says how likely that verdict is to be right, and a verdict
below `min_confidence` goes to a person.

The weights live in model.json, written by scripts/train_reply_model.py from the development files (fixed
seed, reproducible). Reading them needs no numpy or scikit-learn: a few dot products per reply.
"""
from __future__ import annotations

import bisect
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from followup.understanding.cues import FIXED_KINDS, PROBLEM_KINDS, SIGNALS, Cues

MODEL_FILE = Path(__file__).with_name("model.json")
CLASSES = ("reopen", "resolved", "ack")  # the intents the model weighs (opt_out is decided before it)


def features(cues: Cues) -> dict[str, float]:
    """Language-independent features of a reply's cues (the names are the model's columns)."""
    kinds = [kind for _, kind, _ in cues.problem]
    fixed = [kind for _, kind, _ in cues.fixed]
    out = {f"problem:{k}": float(k in kinds) for k in PROBLEM_KINDS}
    out.update({f"fixed:{k}": float(k in fixed) for k in FIXED_KINDS})
    out.update({f"signal:{k}": float(bool(cues.signals.get(k))) for k in SIGNALS})
    out.update({f"rule:{c}": float(cues.rule == c) for c in CLASSES})
    out["fix_is_last"] = float(cues.fix_is_last())
    out["fix_then_problem"] = float(bool(cues.fixed) and bool(cues.problem) and not cues.fix_is_last())
    out["problems"] = min(len(kinds), 4) / 4
    out["sentiment"] = cues.sentiment
    out["words<=3"] = float(cues.tokens <= 3)
    out["words<=10"] = float(3 < cues.tokens <= 10)
    out["words>25"] = float(cues.tokens > 25)
    return out


@dataclass(frozen=True)
class Model:
    """P(the rule verdict is right | cues): a logistic regression, then an isotonic map fitted on out-of-fold
    scores so that a confidence of 0.9 is right about 9 times in 10 on the development files."""

    names: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    calibration_x: tuple[float, ...]
    calibration_y: tuple[float, ...]

    def raw(self, feats: dict[str, float]) -> float:
        z = self.intercept + sum(w * feats.get(n, 0.0) for n, w in zip(self.names, self.coef))
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))

    def confidence(self, cues: Cues) -> float:
        return calibrate(self.calibration_x, self.calibration_y, self.raw(features(cues)))

    def as_json(self) -> dict:
        return {"names": list(self.names), "coef": list(self.coef), "intercept": self.intercept,
                "calibration": {"x": list(self.calibration_x), "y": list(self.calibration_y)}}


def calibrate(xs: tuple[float, ...] | list[float], ys: tuple[float, ...] | list[float], raw: float) -> float:
    """Piecewise-linear reading of an isotonic map (identity when the map is empty)."""
    if not xs:
        return raw
    i = bisect.bisect_left(xs, raw)
    if i == 0:
        return ys[0]
    if i >= len(xs):
        return ys[-1]
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 if x1 == x0 else y0 + (y1 - y0) * (raw - x0) / (x1 - x0)


@lru_cache(maxsize=1)
def load(path: Path = MODEL_FILE) -> Model:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Model(names=tuple(data["names"]), coef=tuple(data["coef"]), intercept=float(data["intercept"]),
                 calibration_x=tuple(data["calibration"]["x"]), calibration_y=tuple(data["calibration"]["y"]))
