"""The vendors' label vocabularies, in the order real output uses, and their affect coordinates.

Plain data, no torch: renderers, contracts and tests import this without loading a model.
Sources: ``../shared/reference/hume-batch.md`` §8 (48 expressions in the order of real output;
53 language labels as an alphabetical merge [GUESS]; 67 burst types; 9 sentiment levels; 6
toxicity categories; the face model's FACS action units and descriptions, whose sets Hume does
not document [GUESS]).
"""

from __future__ import annotations

__all__ = [
    "AFFECT",
    "BURSTS",
    "EXPRESSIONS",
    "FACE_DESCRIPTIONS",
    "FACS",
    "LANGUAGE_EMOTIONS",
    "SENTIMENT_LEVELS",
    "TOXICITY",
]

#: The 48 expressions of the face, prosody, burst and facemesh models, in real output order.
EXPRESSIONS: tuple[str, ...] = (
    "Admiration", "Adoration", "Aesthetic Appreciation", "Amusement", "Anger", "Anxiety", "Awe",
    "Awkwardness", "Boredom", "Calmness", "Concentration", "Confusion", "Contemplation",
    "Contempt", "Contentment", "Craving", "Desire", "Determination", "Disappointment", "Disgust",
    "Distress", "Doubt", "Ecstasy", "Embarrassment", "Empathic Pain", "Entrancement", "Envy",
    "Excitement", "Fear", "Guilt", "Horror", "Interest", "Joy", "Love", "Nostalgia", "Pain",
    "Pride", "Realization", "Relief", "Romance", "Sadness", "Satisfaction", "Shame",
    "Surprise (negative)", "Surprise (positive)", "Sympathy", "Tiredness", "Triumph",
)  # fmt: skip

#: The five labels only the language model adds (reference §8).
_LANGUAGE_EXTRA = ("Annoyance", "Disapproval", "Enthusiasm", "Gratitude", "Sarcasm")

#: The 53 language (and NER) emotions: the 48 merged alphabetically with the five extras.
LANGUAGE_EMOTIONS: tuple[str, ...] = tuple(
    sorted(EXPRESSIONS + _LANGUAGE_EXTRA, key=lambda n: n.lower())
)

#: The 67 vocal-burst descriptions, alphabetical [GUESS on order], capitalised as in the docs.
BURSTS: tuple[str, ...] = (
    "Ah", "Aha", "Ahh", "Argh", "Aww", "Cackle", "Cheer", "Chuckle", "Cry", "Eek", "Eww", "Gasp",
    "Giggle", "Groan", "Growl", "Grr", "Grunt", "Ha", "Hah", "Haha", "Hehe", "Hiss", "Hmm", "Hoot",
    "Howl", "Huh", "Hurray", "Laugh", "Mhm", "Mmm", "Moan", "Oh", "Ohh", "Ooh", "Ooph", "Ouch",
    "Oww", "Pant", "Pff", "Phew", "Roar", "Scream", "Screech", "Shout", "Shriek", "Sigh",
    "Snicker", "Snort", "Sob", "Squeal", "Tsk", "Ugh", "Uh", "Uh-huh", "Umm", "Wail", "Wheep",
    "Whee", "Whew", "Whimper", "Woah", "Wow", "Yawn", "Yay", "Yelp", "Yippee", "Yuck",
)  # fmt: skip

#: FACS action units of the face model's ``facs`` output [GUESS]. Hume documents neither the set
#: nor the order (reference §8 gives only examples such as "Inner brow raise"); this is the list
#: its FACS 2.0 model is commonly reported to emit, in action-unit number order, named in the
#: "AU<n> <Name>" form such reports use.
FACS: tuple[str, ...] = (
    "AU1 Inner Brow Raise", "AU2 Outer Brow Raise", "AU4 Brow Lowerer", "AU5 Upper Lid Raise",
    "AU6 Cheek Raise", "AU7 Lids Tight", "AU9 Nose Wrinkle", "AU10 Upper Lip Raiser",
    "AU11 Nasolabial Furrow Deepener", "AU12 Lip Corner Puller", "AU14 Dimpler",
    "AU15 Lip Corner Depressor", "AU16 Lower Lip Depress", "AU17 Chin Raiser", "AU18 Lip Pucker",
    "AU19 Tongue Show", "AU20 Lip Stretch", "AU22 Lip Funneler", "AU23 Lip Tightener",
    "AU24 Lip Presser", "AU25 Lips Part", "AU26 Jaw Drop", "AU27 Mouth Stretch", "AU28 Lip Suck",
    "AU32 Bite", "AU34 Puff", "AU37 Lip Wipe", "AU38 Nostril Dilate", "AU43 Eye Closure",
    "AU53 Head Up", "AU54 Head Down",
)  # fmt: skip

#: Face ``descriptions`` labels, alphabetical [GUESS: set and order are our choice]. Hume's docs
#: name only "Smile", "Frown", "Wink", "Hand over mouth" and "Hand over eyes" (reference §8);
#: the rest are plausible companions capitalised the same way.
FACE_DESCRIPTIONS: tuple[str, ...] = (
    "Angry", "Bite lip", "Chin raise", "Closed eyes", "Disgust", "Fear", "Frown", "Glare",
    "Hand over eyes", "Hand over forehead", "Hand over mouth", "Jaw drop", "Laugh", "Lip press",
    "Look down", "Look up", "Mouth open", "Pout", "Raised eyebrows", "Sad", "Scowl", "Smile",
    "Smirk", "Squint", "Surprise", "Tongue out", "Wide eyes", "Wince", "Wink",
)  # fmt: skip

#: Sentiment levels "1" (most negative) to "9" (most positive).
SENTIMENT_LEVELS: tuple[str, ...] = tuple(str(i) for i in range(1, 10))

#: Toxicity categories, in the SDK docstring's order.
TOXICITY: tuple[str, ...] = (
    "toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate",
)  # fmt: skip

#: (valence, arousal) in [-1, 1] for each of the 53 emotions, after the circumplex model of
#: affect. Acoustic and visual heads map what they measure into this plane and score every label
#: by its distance, so a loud, rising voice lands near Excitement and a flat, quiet one near
#: Tiredness. Hand-set from the usual placements; they are a design choice, not vendor data.
AFFECT: dict[str, tuple[float, float]] = {
    "Admiration": (0.6, 0.3), "Adoration": (0.8, 0.3), "Aesthetic Appreciation": (0.6, -0.1),
    "Amusement": (0.7, 0.5), "Anger": (-0.7, 0.8), "Annoyance": (-0.5, 0.4),
    "Anxiety": (-0.6, 0.6), "Awe": (0.5, 0.6), "Awkwardness": (-0.3, 0.2),
    "Boredom": (-0.3, -0.7), "Calmness": (0.4, -0.7), "Concentration": (0.1, 0.1),
    "Confusion": (-0.3, 0.2), "Contemplation": (0.1, -0.3), "Contempt": (-0.6, 0.2),
    "Contentment": (0.6, -0.4), "Craving": (0.2, 0.5), "Desire": (0.5, 0.6),
    "Determination": (0.3, 0.6), "Disappointment": (-0.6, -0.3), "Disapproval": (-0.5, 0.2),
    "Disgust": (-0.8, 0.4), "Distress": (-0.7, 0.6), "Doubt": (-0.3, -0.1),
    "Ecstasy": (0.9, 0.9), "Embarrassment": (-0.5, 0.4), "Empathic Pain": (-0.6, 0.2),
    "Enthusiasm": (0.7, 0.8), "Entrancement": (0.4, 0.1), "Envy": (-0.5, 0.3),
    "Excitement": (0.7, 0.9), "Fear": (-0.8, 0.8), "Gratitude": (0.8, 0.2),
    "Guilt": (-0.6, -0.1), "Horror": (-0.9, 0.9), "Interest": (0.4, 0.4), "Joy": (0.9, 0.6),
    "Love": (0.9, 0.4), "Nostalgia": (0.2, -0.3), "Pain": (-0.8, 0.5), "Pride": (0.7, 0.5),
    "Realization": (0.2, 0.4), "Relief": (0.6, -0.4), "Romance": (0.8, 0.3),
    "Sadness": (-0.8, -0.4), "Sarcasm": (-0.3, 0.3), "Satisfaction": (0.7, 0.0),
    "Shame": (-0.7, 0.0), "Surprise (negative)": (-0.5, 0.8), "Surprise (positive)": (0.6, 0.8),
    "Sympathy": (0.3, -0.1), "Tiredness": (-0.3, -0.9), "Triumph": (0.8, 0.8),
}  # fmt: skip
