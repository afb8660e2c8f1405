"""Agreement of the text model with the hand-labelled evaluation set in ``fixtures/eval/``.

    python benchmarks/eval_text.py [--show-misses]

Emotions: top-1 / top-3 agreement = the model's first label / any of its first three labels is
one of the gold labels. Zero-shot: top-1 = the highest-scoring candidate is the gold label;
multi-label F1 against ``multi_label_gold``. Sentiment: the polarity implied by the nine-level
distribution (mean below 4.5 negative, above 5.5 positive, else neutral).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from mockserver.inference.labels import LANGUAGE_EMOTIONS  # noqa: E402
from mockserver.inference.text import TextModel  # noqa: E402

EVAL = ROOT / "fixtures" / "eval"


@dataclass
class Agreement:
    emotions_top1: float
    emotions_top3: float
    zeroshot_top1: float
    zeroshot_multi_f1: float
    sentiment_accuracy: float
    counts: dict[str, int]
    misses: list[str]


def _rows(name: str) -> list[dict[str, object]]:
    lines = (EVAL / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def evaluate(model: TextModel) -> Agreement:
    """Score the model on all three files."""
    misses: list[str] = []
    emo = _rows("emotions.jsonl")
    scores = model.emotions([str(r["text"]) for r in emo])
    top1 = top3 = 0
    for row, s in zip(emo, scores, strict=True):
        ranked = [LANGUAGE_EMOTIONS[i] for i in s.argsort(descending=True)[:3].tolist()]
        gold = list(row["gold"])  # type: ignore[call-overload]
        top1 += ranked[0] in gold
        hit = bool(set(ranked) & set(gold))
        top3 += hit
        if not hit:
            misses.append(f"emotion  {row['text']!r}: gold {gold}, got {ranked}")
    zs = _rows("zeroshot.jsonl")
    ztop1 = 0
    f1s = []
    for row in zs:
        labels = list(row["candidate_labels"])  # type: ignore[call-overload]
        single = model.zero_shot([str(row["text"])], labels)[0]
        best = labels[int(single.argmax())]
        ztop1 += best == row["gold"]
        if best != row["gold"]:
            misses.append(f"zeroshot {row['text']!r}: gold {row['gold']}, got {best}")
        multi = model.zero_shot([str(row["text"])], labels, multi_label=True)[0]
        chosen = {lab for lab, p in zip(labels, multi.tolist(), strict=True) if p > 0.5}
        gold_set = set(row["multi_label_gold"])  # type: ignore[call-overload]
        tp = len(chosen & gold_set)
        f1s.append(2 * tp / (len(chosen) + len(gold_set)) if chosen or gold_set else 1.0)
    sen = _rows("sentiment.jsonl")
    dist = model.sentiment([str(r["text"]) for r in sen])
    levels = torch.arange(1, 10, device=dist.device)
    means = (dist * levels).sum(-1).tolist()
    right = 0
    for row, mean in zip(sen, means, strict=True):
        got = "negative" if mean < 4.5 else "positive" if mean > 5.5 else "neutral"
        right += got == row["polarity"]
        if got != row["polarity"]:
            misses.append(f"polarity {row['text']!r}: gold {row['polarity']}, got {got}")
    return Agreement(
        emotions_top1=top1 / len(emo),
        emotions_top3=top3 / len(emo),
        zeroshot_top1=ztop1 / len(zs),
        zeroshot_multi_f1=sum(f1s) / len(f1s),
        sentiment_accuracy=right / len(sen),
        counts={"emotions": len(emo), "zeroshot": len(zs), "sentiment": len(sen)},
        misses=misses,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    result = evaluate(TextModel.load())
    print(f"evaluation set: {result.counts}")
    print(f"emotions  top-1 {result.emotions_top1:6.1%}   top-3 {result.emotions_top3:6.1%}")
    print(
        f"zero-shot top-1 {result.zeroshot_top1:6.1%}"
        f"   multi-label F1 {result.zeroshot_multi_f1:.2f}"
    )
    print(f"sentiment polarity accuracy {result.sentiment_accuracy:6.1%}")
    if args.show_misses:
        print("\n".join(result.misses))


if __name__ == "__main__":
    main()
