"""Bench: html_to_text on 100 KB and 400 KB of mail HTML, against html.parser alone, in one run.

The baseline is the stdlib tokenizer with no handlers (HTMLParser().feed + close) on the same input: the
floor html_to_text sits on. It is run only on input it handles linearly; on the others (a construct left
open with more markup after it) it re-reads the rest of the document from every "<" (python/cpython#135462),
which is what html_to_text avoids.

Usage: .venv/bin/python bench/html_to_text.py [--repeat N]
"""
from __future__ import annotations

import argparse
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from followup.inbound_email import html_to_text  # noqa: E402

REPLY = '<div dir="ltr">Still not fixed, I was charged twice again this morning.<br></div>'
QUOTE = "<div>&gt; Hi Sam, following up on your refund for the double charge. Is it sorted now?</div>"
SHAPES = {  # name: (unit repeated to the size, the stdlib alone is linear on it)
    "gmail reply + long quote": (QUOTE, True),
    "prose": ("Thanks Maria, the refund arrived this morning and the app works again. ", True),
    "unclosed <p> (issue 11)": ("<p>x", True),
    "end tags matching nothing": ("<b>x</i>", True),
    "nested <div>": ("<div>", True),
    "tag never closed: '<a '": ("<a ", False),
    "comment never closed": ("<!--x>", False),
}


def bare(markup: str) -> None:
    parser = HTMLParser(convert_charrefs=True)
    parser.feed(markup)
    parser.close()


def best_of(repeat: int, fn, markup: str) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(markup)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'input':28} {'html_to_text ms/100KB':>22} {'at 400 KB':>10} {'growth x4':>10} "
          f"{'html.parser alone':>18} {'ratio':>6}")
    for name, (unit, stdlib_linear) in SHAPES.items():
        small = (REPLY if name.startswith("gmail") else "") + unit * (100_000 // len(unit))
        large = (REPLY if name.startswith("gmail") else "") + unit * (400_000 // len(unit))
        t_small = best_of(args.repeat, html_to_text, small) / (len(small) / 100_000) * 1000
        t_large = best_of(args.repeat, html_to_text, large) / (len(large) / 100_000) * 1000
        growth = (t_large * len(large)) / (t_small * len(small))
        if stdlib_linear:
            base = best_of(args.repeat, bare, small) / (len(small) / 100_000) * 1000
            baseline = f"{base:15.2f} ms {t_small / base:6.1f}"
        else:
            baseline = f"{'quadratic, skipped':>18} {'—':>6}"
        print(f"{name:28} {t_small:19.1f} ms {t_large:7.1f} ms {growth:10.1f} {baseline}")


if __name__ == "__main__":
    main()
