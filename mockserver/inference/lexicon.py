"""Cue words that anchor each label in the text model's embedding space.

A label's prototype is the mean embedding of its name and these cues. They are written from the
meaning of each word (a thesaurus, not a training set): the evaluation set in
``fixtures/eval/`` was written separately and is never read to tune them.
"""

from __future__ import annotations

__all__ = ["EMOTION_CUES", "ENTITY_CUES", "SENTIMENT_CUES", "TOXICITY_CUES"]

EMOTION_CUES: dict[str, tuple[str, ...]] = {
    "Admiration": ("admire", "impressive", "respect", "so talented", "inspiring", "brilliant work"),
    "Adoration": ("adore", "cute", "adorable", "precious", "sweetheart", "so lovely"),
    "Aesthetic Appreciation": (
        "beautiful",
        "gorgeous view",
        "stunning art",
        "elegant",
        "lovely scenery",
        "exquisite",
    ),
    "Amusement": ("funny", "hilarious", "laughing", "lol", "so amusing", "joke"),
    "Anger": ("angry", "furious", "outraged", "rage", "livid", "mad at"),
    "Annoyance": ("annoying", "irritated", "fed up", "ugh again", "bothered", "so irritating"),
    "Anxiety": ("anxious", "nervous", "worried", "uneasy", "panic", "stressed about"),
    "Awe": ("awe", "breathtaking", "amazed", "majestic", "overwhelming wonder", "astonishing"),
    "Awkwardness": ("awkward", "uncomfortable silence", "cringe", "weird moment", "clumsy"),
    "Boredom": ("bored", "boring", "dull", "tedious", "nothing to do", "monotonous"),
    "Calmness": ("calm", "peaceful", "relaxed", "serene", "tranquil", "quiet and still"),
    "Concentration": ("focused", "concentrate", "studying hard", "attention", "deep in work"),
    "Confusion": (
        "confused",
        "puzzled",
        "don't understand",
        "makes no sense",
        "baffled",
        "unclear",
    ),
    "Contemplation": (
        "pondering",
        "reflecting",
        "thinking deeply",
        "wondering about",
        "meditating",
    ),
    "Contempt": ("contempt", "pathetic", "beneath me", "disdain", "scorn", "despise"),
    "Contentment": ("content", "satisfied with life", "cozy", "comfortable", "at ease", "pleased"),
    "Craving": (
        "craving",
        "hungry for",
        "longing for",
        "want so badly",
        "yearning",
        "need a snack",
    ),
    "Desire": ("desire", "want", "wish", "lust", "longing", "attracted"),
    "Determination": ("determined", "will not give up", "persevere", "resolve", "keep pushing"),
    "Disappointment": ("disappointed", "let down", "expected better", "unfortunately", "a shame"),
    "Disapproval": (
        "disapprove",
        "not acceptable",
        "wrong of them",
        "should not have",
        "object to",
    ),
    "Disgust": ("disgusting", "gross", "revolting", "nauseating", "yuck", "repulsive"),
    "Distress": ("distressed", "desperate", "in trouble", "help me", "overwhelmed", "suffering"),
    "Doubt": ("doubt", "skeptical", "not sure", "unconvinced", "questionable", "hesitant"),
    "Ecstasy": ("ecstatic", "euphoric", "blissful", "over the moon", "thrilled beyond words"),
    "Embarrassment": ("embarrassed", "humiliated", "blushing", "so embarrassing", "mortified"),
    "Empathic Pain": (
        "heartbreaking for them",
        "feel their pain",
        "so sorry for you",
        "hurts to see",
    ),
    "Enthusiasm": ("enthusiastic", "eager", "can't wait", "excited to start", "keen", "passionate"),
    "Entrancement": ("entranced", "mesmerized", "captivated", "spellbound", "hypnotic"),
    "Envy": ("envy", "jealous", "wish I had", "so lucky", "resentful of"),
    "Excitement": ("excited", "thrilled", "exciting", "pumped", "woohoo", "so hyped"),
    "Fear": ("afraid", "scared", "terrified", "frightened", "fear", "dread"),
    "Gratitude": ("grateful", "thankful", "thank you", "appreciate", "thanks so much", "gratitude"),
    "Guilt": ("guilty", "my fault", "I regret", "should have", "ashamed of what I did", "remorse"),
    "Horror": ("horrified", "horrifying", "gruesome", "nightmare", "terrifying", "appalling"),
    "Interest": (
        "interesting",
        "curious",
        "fascinating",
        "intrigued",
        "tell me more",
        "want to learn",
    ),
    "Joy": ("happy", "joy", "delighted", "glad", "wonderful", "cheerful"),
    "Love": ("love", "my love", "affection", "in love", "love you", "dear"),
    "Nostalgia": (
        "nostalgic",
        "remember when",
        "good old days",
        "childhood memories",
        "miss those days",
    ),
    "Pain": ("pain", "hurts", "ache", "injury", "agony", "sore"),
    "Pride": ("proud", "accomplished", "achievement", "proud of", "did it myself", "honored"),
    "Realization": ("realized", "suddenly understood", "it dawned on me", "now I see", "aha"),
    "Relief": ("relieved", "phew", "finally over", "thank goodness", "weight off my shoulders"),
    "Romance": ("romantic", "date night", "candlelight", "kiss", "valentine", "sweetheart"),
    "Sadness": ("sad", "unhappy", "crying", "grief", "heartbroken", "depressed"),
    "Sarcasm": ("oh great", "yeah right", "just what I needed", "sarcastic", "how wonderful not"),
    "Satisfaction": (
        "satisfying",
        "job well done",
        "worked perfectly",
        "exactly right",
        "fulfilled",
    ),
    "Shame": ("ashamed", "shame", "disgraced", "humiliation", "dishonor"),
    "Surprise (negative)": (
        "shocked",
        "unexpected bad news",
        "can't believe this happened",
        "stunned",
        "what no",
    ),
    "Surprise (positive)": (
        "surprised",
        "what a surprise",
        "unexpected gift",
        "wow",
        "didn't expect",
    ),
    "Sympathy": ("sympathy", "condolences", "sorry for your loss", "thinking of you", "compassion"),
    "Tiredness": ("tired", "exhausted", "sleepy", "worn out", "fatigue", "drained"),
    "Triumph": ("triumph", "victory", "we won", "champion", "conquered", "nailed it"),
}

SENTIMENT_CUES: dict[str, tuple[str, ...]] = {
    "positive": ("good", "great", "excellent", "love", "happy", "wonderful", "best", "amazing"),
    "negative": ("bad", "terrible", "awful", "hate", "sad", "worst", "horrible", "poor"),
}

TOXICITY_CUES: dict[str, tuple[str, ...]] = {
    "toxic": ("stupid", "idiot", "shut up", "hate you", "garbage person", "moron"),
    "severe_toxic": ("die in a fire", "worthless scum", "kill yourself", "absolute filth"),
    "obscene": ("fuck", "shit", "damn", "crap", "bullshit", "ass"),
    "threat": ("I will kill you", "you will regret", "hurt you", "beat you up", "threaten"),
    "insult": ("idiot", "loser", "ugly", "stupid", "dumb", "pathetic fool"),
    "identity_hate": (
        "racist slur",
        "go back to your country",
        "hate immigrants",
        "bigot",
        "hate gays",
    ),
}

ENTITY_CUES: dict[str, tuple[str, ...]] = {
    "PER": ("person", "john", "mary", "mr", "president", "actor", "he", "she"),
    "ORG": (
        "company",
        "organization",
        "university",
        "corporation",
        "bank",
        "inc",
        "google",
        "microsoft",
        "amazon",
        "agency",
    ),
    "LOC": ("city", "country", "river", "mountain", "street", "london", "paris", "france"),
    "MISC": ("event", "language", "nationality", "product", "award", "war", "english"),
}
