"""What every language's reader finds in a reply: cues with their place in the text, and a rule verdict.

The cue kinds are shared by all languages, so one model (followup.understanding.model) weighs them whatever
language the reply was written in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Cues that a case is still open (reopen), and cues that it is fixed (resolved), by kind.
PROBLEM_KINDS = ("negation", "unresolved", "problem", "complaint", "sarcasm", "churn", "question", "request",
                 "sent_details", "answers_no", "negative_emoji", "contrast", "shouting", "negative_tone",
                 "partial_fix")
FIXED_KINDS = ("fixed", "improved", "good_news", "self_blame")
# Calm signals: present or not (or a number), wherever they are.
SIGNALS = ("thanks", "closure_thanks", "thanks_for_news", "praise", "happy_emoji", "plan", "weak_ack", "detail", "works_elsewhere",
           "conditional", "attached", "question_mark", "answers_yes")


def demote_contrasted_fixes(cues: "Cues", low: str, contrast: re.Pattern[str], turn: re.Pattern[str]) -> None:
    """"Same problem here. But the export works fine": a fix after a problem and a "but", with nothing saying the
    problem itself turned ("but now it works", "but after the update it works"), is about something else."""
    for cue in [c for c in cues.fixed if c[1] == "fixed"]:
        at = cue[0]
        start = max(low.rfind(stop, 0, at) for stop in ".!?\n") + 1
        buts = [m for m in contrast.finditer(low, start, at)]
        if not buts or not any(0 <= p_at < buts[-1].start() for p_at, kind, _ in cues.problem
                               if kind not in ("contrast", "negative_tone", "shouting")):
            continue
        if turn.search(low, buts[-1].end(), min(len(low), at + 40)):
            continue
        cues.fixed.remove(cue)
        cues.signal("works_elsewhere", f"works, but about something else: '{low[buts[-1].start():at + 20]}'")


@dataclass
class Cues:
    """Problem and fix cues as (offset, kind, reason); signals by name; the rule verdict they add up to."""

    problem: list[tuple[int, str, str]] = field(default_factory=list)
    fixed: list[tuple[int, str, str]] = field(default_factory=list)
    signals: dict[str, float] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)  # the words behind a signal, shown as a reason
    tokens: int = 0
    sentiment: float = 0.0  # -1..1, from VADER in English, from the cue lexicon elsewhere
    rule: str = "reopen"
    rule_reasons: list[str] = field(default_factory=list)
    language: str = "en"
    language_why: str = ""

    def add_problem(self, at: int, kind: str, reason: str) -> None:
        self.problem.append((at, kind, reason))

    def add_fixed(self, at: int, kind: str, reason: str) -> None:
        self.fixed.append((at, kind, reason))

    def signal(self, name: str, why: str, value: float = 1.0) -> None:
        self.signals[name] = value
        self.why.setdefault(name, why)

    def reason(self, key: str, default: str) -> str:
        return self.why.get(key, default)

    def fix_is_last(self) -> bool:
        """A fix is stated after every problem cue ("it crashed yesterday, works now").

        "Better" is not "fixed": after a problem it does not close the case ("still not great but a lot better").
        """
        fixes = [at for at, kind, _ in self.fixed if kind != "improved" or not self.problem]
        return bool(fixes) and max(fixes) > max((at for at, _, _ in self.problem), default=-2)

    def decide(self) -> None:
        """The rule verdict: a problem anywhere reopens unless a fix follows it; calm replies by their signals."""
        s, why = self.signals, self.reason
        blamed_only = bool(self.fixed) and all(kind == "self_blame" for _, kind, _ in self.fixed)
        if blamed_only and s.get("plan") and self.fix_is_last():
            # "my mistake, I'll try it again tonight": nothing is confirmed fixed yet
            self.rule = "ack"
            self.rule_reasons = [why("plan", "says what they will do next")] + [r for _, _, r in self.fixed]
        elif self.fix_is_last():
            earlier = [r for at, _, r in sorted(self.problem) if at >= 0]
            self.rule = "resolved"
            self.rule_reasons = [r for _, _, r in self.fixed] + (
                [f"said it's fixed after: {earlier[-1]}"] if earlier else [])
        elif self.problem and {k for _, k, _ in self.problem} <= {"negative_emoji", "negative_tone"} and (
                s.get("plan") or any(k == "self_blame" for _, k, _ in self.fixed)):
            # a mood, no stated problem: "busy week :( I'll try it on Sunday", "my own silly mistake :("
            blamed = [r for _, k, r in self.fixed if k == "self_blame"]
            self.rule = "resolved" if blamed else "ack"
            self.rule_reasons = (blamed or [why("plan", "says what they will do next")]) + [
                "a low mood, but no problem stated"]
        elif self.problem:
            self.rule = "reopen"
            self.rule_reasons = [r for _, _, r in sorted(self.problem, key=lambda cue: (cue[0] < 0, cue[0]))]
        elif s.get("plan"):
            self.rule, self.rule_reasons = "ack", [why("plan", "says what they will do next")]
        elif s.get("thanks_for_news") and not (s.get("closure_thanks") or s.get("praise")):
            self.rule, self.rule_reasons = "ack", [why("thanks_for_news", "thanks for the news")]
        elif (s.get("detail") and s.get("thanks") and not (s.get("closure_thanks") or s.get("praise"))
              and self.reason("detail", "") != "a link or screenshot"):
            # "Thanks, I'm on version 3.5.7": the thanks are manners, the details are for the agent
            self.rule, self.rule_reasons = "reopen", [why("detail", "troubleshooting details"), why("thanks", "thanks")]
        elif s.get("closure_thanks") or s.get("praise") or s.get("thanks") or s.get("happy_emoji"):
            self.rule = "resolved"
            self.rule_reasons = [why(key, "gratitude") for key in ("closure_thanks", "praise", "thanks",
                                                                           "happy_emoji") if s.get(key)][:1]
        elif s.get("weak_ack") and not s.get("detail"):
            self.rule, self.rule_reasons = "ack", [why("weak_ack", "acknowledgement")]
        elif s.get("detail"):
            self.rule, self.rule_reasons = "reopen", [why("detail", "troubleshooting details")]
        elif self.sentiment >= 0.3 and self.tokens <= 5 and not s.get("answers_yes"):
            self.rule, self.rule_reasons = "ack", [f"short and positive, nothing asked ({self.sentiment:+.2f})"]
        else:
            self.rule, self.rule_reasons = "reopen", ["unsure: no clear cue, a person should look"]

