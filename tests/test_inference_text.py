"""The text model: tokenizer, heads, plain cases, determinism, batch invariance, evaluation."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.inference import text as text_mod
from mockserver.inference.entities import find_entities
from mockserver.inference.labels import LANGUAGE_EMOTIONS, SENTIMENT_LEVELS, TOXICITY
from mockserver.inference.text import TextModel
from mockserver.inference.tokenizer import load_tokenizer, words

ROOT = Path(__file__).resolve().parents[1]
DRESS = "This is a test about a new dress shop than opened up on 5th avenue"
HAPPY = "I am so happy and grateful for your help"


@pytest.fixture(scope="module")
def model() -> TextModel:
    return TextModel.load()


def top(scores: torch.Tensor, labels: tuple[str, ...], k: int) -> list[str]:
    return [labels[i] for i in scores.argsort(descending=True)[:k].tolist()]


# --- tokenizer ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        (HAPPY, [1045, 2572, 2061, 3407, 1998, 8794, 2005, 2115, 2393]),
        (
            "Café naïve, 東京! unbelievably-good e-mail",
            [7668, 15743, 1010, 1879, 1755, 999, 4895, 8671, 2666, 3567, 6321, 1011, 2204, 1041]
            + [1011, 5653],
        ),
        ("x" * 120, [100]),
        ("", []),
    ],
)
def test_tokenizer_matches_bert_uncased_wordpiece(text: str, ids: list[int]) -> None:
    # Expected ids were produced by the reference `transformers` tokenizer of all-MiniLM-L6-v2.
    assert load_tokenizer().encode(text) == ids


def test_word_spans_point_back_into_the_text() -> None:
    text = "  Hello,   world!\tCafé"
    spans = words(text)
    assert [s.text for s in spans] == ["Hello", ",", "world", "!", "Café"]
    assert all(text[s.begin : s.end] == s.text for s in spans)


# --- the plain cases of the issue ---------------------------------------------------------------


def test_dress_shop_is_fashion(model: TextModel) -> None:
    labels = ("medical", "fashion", "politics")
    scores = model.zero_shot([DRESS], labels)[0]
    assert top(scores, labels, 1) == ["fashion"]
    assert float(scores.sum()) == pytest.approx(1.0, abs=1e-5)


def test_happy_and_grateful_puts_joy_or_gratitude_in_the_top_three(model: TextModel) -> None:
    scores = model.emotions([HAPPY])[0]
    assert {"Joy", "Gratitude"} & set(top(scores, LANGUAGE_EMOTIONS, 3))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My grandmother passed away last night and I can't stop crying.", "Sadness"),
        ("They lost my luggage and nobody at the desk would even look at me. Furious.", "Anger"),
        ("Thank you so much for covering my shift, I owe you one!", "Gratitude"),
    ],
)
def test_obvious_emotions_rank_high(model: TextModel, text: str, expected: str) -> None:
    assert expected in top(model.emotions([text])[0], LANGUAGE_EMOTIONS, 3)


# --- shapes and ranges ---------------------------------------------------------------------------


def test_scores_are_valid_probabilities(model: TextModel) -> None:
    texts = [HAPPY, "The meeting moved to 3pm.", "", "you are a stupid worthless idiot"]
    emotions = model.emotions(texts)
    assert emotions.shape == (4, 53) and len(LANGUAGE_EMOTIONS) == 53
    assert bool(((emotions >= 0) & (emotions <= 1)).all())
    sentiment = model.sentiment(texts)
    assert sentiment.shape == (4, len(SENTIMENT_LEVELS))
    assert torch.allclose(sentiment.sum(-1), torch.ones(4), atol=1e-5)
    toxicity = model.toxicity(texts)
    assert toxicity.shape == (4, len(TOXICITY))
    assert bool(((toxicity >= 0) & (toxicity <= 1)).all())


def test_sentiment_and_toxicity_follow_the_text(model: TextModel) -> None:
    levels = torch.arange(1, 10, dtype=torch.float32)
    good, bad = model.sentiment(["I love it, best purchase ever", "Awful. It broke, I hate it"])
    assert float((good * levels).sum()) > 6 > 4 > float((bad * levels).sum())
    rude, civil = model.toxicity(["you are a stupid worthless idiot", "Have a lovely weekend"])
    assert float(rude.max()) > 0.5 > float(civil.max())


def test_multi_label_scores_are_independent(model: TextModel) -> None:
    labels = ("cooking", "travel", "finance")
    scores = model.zero_shot(
        ["We ate fresh pasta in a tiny trattoria on our trip to Rome"], labels, multi_label=True
    )[0]
    assert float(scores.sum()) != pytest.approx(1.0, abs=1e-3)
    assert float(scores[2]) < 0.5 < float(scores[0])


# --- determinism ---------------------------------------------------------------------------------


def test_same_seed_is_bit_identical_and_another_seed_differs(model: TextModel) -> None:
    a = model.emotions([HAPPY], seed=7)
    assert torch.equal(a, model.emotions([HAPPY], seed=7))
    assert not torch.equal(a, model.emotions([HAPPY], seed=8))
    assert torch.equal(model.sentiment([HAPPY], seed=3), model.sentiment([HAPPY], seed=3))


def test_an_items_scores_do_not_depend_on_its_batch(model: TextModel) -> None:
    texts = [f"sample number {i} about {w}" for i, w in enumerate(["cats", "rain", "taxes"] * 22)]
    alone = torch.cat([model.emotions([t]) for t in texts])
    together = model.emotions(texts)
    assert torch.equal(alone, together)
    labels = ("a", "b", "c")
    assert torch.equal(
        torch.cat([model.zero_shot([t], labels) for t in texts[:9]]),
        model.zero_shot(texts[:9], labels),
    )


# --- the shipped data ----------------------------------------------------------------------------


def test_shipped_tables_name_the_data_they_were_built_from() -> None:
    _, meta = text_mod.load_table()
    assert meta["teacher"] == "sentence-transformers/all-MiniLM-L6-v2"
    vocab = (ROOT / "mockserver/inference/data/vocab.txt").read_bytes()
    assert meta["vocab_sha256"] == hashlib.sha256(vocab).hexdigest()
    heads = torch.load(text_mod.HEADS_PATH, weights_only=True)
    train = (ROOT / "fixtures/train/emotions.jsonl").read_bytes()
    assert heads["meta"]["train_sha256"] == hashlib.sha256(train).hexdigest(), (
        "fixtures/train changed: run scripts/train_text_heads.py"
    )
    table = text_mod.TABLE_PATH.read_bytes()
    assert heads["meta"]["table_sha256"] == hashlib.sha256(table).hexdigest()


def test_evaluation_set_agreement_meets_the_targets(model: TextModel) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import eval_text
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    result = eval_text.evaluate(model)
    assert result.counts["emotions"] >= 100 and result.counts["zeroshot"] >= 100
    assert result.emotions_top3 >= 0.80
    assert result.zeroshot_top1 >= 0.80


# --- entities ------------------------------------------------------------------------------------


def test_entities_have_offsets_types_and_links(model: TextModel) -> None:
    text = "Yesterday Barack Obama flew from Paris to the University of Oxford."
    found = {e.text: e for e in find_entities(model, text)}
    assert set(found) == {"Barack Obama", "Paris", "University of Oxford"}
    for e in found.values():
        assert text[e.begin : e.end] == e.text
        assert 0 <= e.score <= 1 and 0 <= e.support <= 1
    assert found["Barack Obama"].label == "PER"
    assert found["Paris"].label == "LOC"
    assert found["University of Oxford"].label == "ORG"
    assert found["University of Oxford"].uri == "https://en.wikipedia.org/wiki/University_of_Oxford"


def test_no_entities_in_plain_lowercase_text(model: TextModel) -> None:
    assert find_entities(model, DRESS) == []
    assert find_entities(model, "") == []


# --- text classification over a model's own labels ------------------------------------------------


def test_polarity_labels_follow_the_valence(model: TextModel) -> None:
    texts = ["I love this phone, it is perfect", "Terrible, it broke on day one"]
    two = model.classify(texts, ["NEGATIVE", "POSITIVE"])
    assert two.argmax(-1).tolist() == [1, 0]
    assert torch.allclose(two.sum(-1), torch.ones(2), atol=1e-5)
    three = model.classify([*texts, "The box is 20 cm wide."], ["negative", "neutral", "positive"])
    assert three.argmax(-1).tolist() == [2, 0, 1]


def test_emotion_model_labels_pool_the_hume_classes(model: TextModel) -> None:
    labels = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
    texts = [
        "I am terrified of the dark",
        "Wow I did not expect that at all!",
        "The box is 20 cm wide.",
        "I love this phone, it is perfect",
    ]
    scores = model.classify(texts, labels)
    assert [labels[i] for i in scores.argmax(-1).tolist()] == ["fear", "surprise", "neutral", "joy"]
    assert torch.allclose(scores.sum(-1), torch.ones(4), atol=1e-5)


def test_other_label_sets_are_zero_shot(model: TextModel) -> None:
    labels = ["sports", "finance"]
    text = ["The striker scored twice in the final minutes"]
    assert torch.equal(model.classify(text, labels), model.zero_shot(text, labels))


# --- label vocabularies (reference: hume-batch.md section 8) -------------------------------------


def test_label_vocabularies_have_the_vendor_sizes_and_order() -> None:
    from mockserver.inference import labels

    assert len(labels.EXPRESSIONS) == len(set(labels.EXPRESSIONS)) == 48
    assert labels.EXPRESSIONS[:3] == ("Admiration", "Adoration", "Aesthetic Appreciation")
    assert labels.EXPRESSIONS[-5:] == (
        "Surprise (negative)", "Surprise (positive)", "Sympathy", "Tiredness", "Triumph",
    )  # fmt: skip
    assert len(labels.LANGUAGE_EMOTIONS) == 53
    assert set(labels.LANGUAGE_EMOTIONS) - set(labels.EXPRESSIONS) == {
        "Annoyance", "Disapproval", "Enthusiasm", "Gratitude", "Sarcasm",
    }  # fmt: skip
    assert list(labels.LANGUAGE_EMOTIONS) == sorted(labels.LANGUAGE_EMOTIONS, key=str.lower)
    assert len(labels.BURSTS) == 67 and labels.BURSTS[0] == "Ah" and "Uh-huh" in labels.BURSTS
    assert labels.SENTIMENT_LEVELS == ("1", "2", "3", "4", "5", "6", "7", "8", "9")
    assert labels.TOXICITY == (
        "toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate",
    )  # fmt: skip
    assert set(labels.AFFECT) == set(labels.LANGUAGE_EMOTIONS)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_fast_path_splits_exactly_like_the_general_loop(text: str) -> None:
    from mockserver.inference.tokenizer import _words_general, words

    assert words(text) == _words_general(text)
