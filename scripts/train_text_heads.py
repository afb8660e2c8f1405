"""Train the text model's emotion head on the hand-written set in ``fixtures/train/``.

    python scripts/train_text_heads.py

Needs only torch and this repository (run it again after changing the embedding table or the
training set; a test checks that the shipped head names the data it was trained on). The head is
one linear layer over the frozen sentence vector: 53 Hume language emotions plus ``Neutral``,
trained with softmax cross-entropy. The corpus mean it stores (``center``) is the mean raw
vector of the training texts; every head removes part of it before comparing. The evaluation
set in ``fixtures/eval/`` is never read here.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mockserver.inference.lexicon import EMOTION_CUES  # noqa: E402
from mockserver.inference.text import (  # noqa: E402
    CLASSES,
    HEADS_PATH,
    TABLE_PATH,
    TextModel,
    load_table,
)

TRAIN = ROOT / "fixtures" / "train" / "emotions.jsonl"
EPOCHS = 300
WEIGHT_DECAY = 1e-4


def examples() -> tuple[list[str], list[int]]:
    """Training texts and class indices: the hand-written set plus each label's cue words."""
    texts: list[str] = []
    targets: list[int] = []
    for line in TRAIN.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts.append(row["text"])
            targets.append(CLASSES.index(row["label"]))
    for label, cues in EMOTION_CUES.items():
        for cue in (label, *cues):
            texts.append(cue)
            targets.append(CLASSES.index(label))
    return texts, targets


def train(model: TextModel, texts: list[str], targets: list[int]) -> tuple[torch.Tensor, ...]:
    """Full-batch Adam on one linear layer; seeded, single-threaded, so reruns agree."""
    torch.manual_seed(0)
    x = model.features(texts).clone()
    y = torch.tensor(targets)
    layer = torch.nn.Linear(x.shape[1], len(CLASSES))
    opt = torch.optim.Adam(layer.parameters(), lr=0.05, weight_decay=WEIGHT_DECAY)
    for _ in range(EPOCHS):
        loss = torch.nn.functional.cross_entropy(layer(x) * 1.0, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = float((layer(x).argmax(1) == y).float().mean())
    print(f"training loss {float(loss.detach()):.3f}, training accuracy {acc:.1%}")
    return layer.weight.detach().clone(), layer.bias.detach().clone()


def main() -> None:
    torch.set_num_threads(1)
    rows, _ = load_table()
    texts, targets = examples()
    center = TextModel(rows).embed(texts).mean(0)
    model = TextModel(rows, {"center": center})
    weight, bias = train(model, texts, targets)
    meta = {
        "train_sha256": hashlib.sha256(TRAIN.read_bytes()).hexdigest(),
        "table_sha256": hashlib.sha256(TABLE_PATH.read_bytes()).hexdigest(),
        "examples": len(texts),
        "epochs": EPOCHS,
    }
    torch.save(
        {"weight": weight, "bias": bias, "center": center, "classes": list(CLASSES), "meta": meta},
        HEADS_PATH,
    )
    print(f"wrote {HEADS_PATH} ({len(texts)} examples)")


if __name__ == "__main__":
    main()
