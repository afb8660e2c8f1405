"""Every Eden AI v2 asynchronous subfeature the emulator serves, with its providers and fields.

``../shared/reference/edenai-async.md`` §2-§4 (the v2 OpenAPI spec, ``tryAGI/EdenAI`` mirror):
each async subfeature has launch, list, delete-all and get under ``/v2/{feature}/{subfeature}/``.
A :class:`Subfeature` names the providers its result model lists, the request fields it adds to
the common ones (:data:`COMMON_PARAMS`), what input it takes (a ``file``/``file_url``, or text
only) and which media families that input may be. The ``image/automl_classification`` trio is
left out: it trains and serves a user's own classifier (projects, data uploads), which is not a
batch inference job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "BATCH_SUBFEATURES",
    "COMMON_PARAMS",
    "SUBFEATURES",
    "Param",
    "Subfeature",
    "find",
]

ParamKind = Literal["str", "int", "float", "bool", "json", "list", "url", "raw"]
Family = Literal["audio", "image", "video", "document"]


@dataclass(frozen=True)
class Param:
    """One request field: how to coerce it from a form or JSON value, and its limits.

    ``json`` fields arrive as a JSON string in multipart forms and as any JSON value in a JSON
    body; ``list`` fields as a comma-separated string, a JSON list, or a Python list repr;
    ``raw`` fields are passed on as sent, for a check of their own (``queries``).
    """

    name: str
    kind: ParamKind = "str"
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class Subfeature:
    feature: str
    name: str
    #: Providers in the spec's result model, in its order (``provider/model`` also accepted).
    providers: tuple[str, ...]
    #: Fields this subfeature adds to :data:`COMMON_PARAMS`.
    params: tuple[Param, ...] = ()
    #: ``file``: a ``file`` part or ``file_url`` is required; ``text``: neither is taken;
    #: ``optional``: either may come (video generation's starting image).
    input: Literal["file", "text", "optional"] = "file"
    #: The media families a file may be (sniffed from its bytes, never its name).
    media: tuple[Family, ...] = ()

    @property
    def path(self) -> str:
        return f"{self.feature}/{self.name}"

    def all_params(self) -> tuple[Param, ...]:
        return COMMON_PARAMS + self.params


#: Fields every async launch takes (reference §3), plus LangChain's extras (tolerated, unused).
COMMON_PARAMS: tuple[Param, ...] = (
    Param("providers", "list", required=True),
    Param("fallback_providers", "list", default=()),
    Param("settings", "json", default={}),
    Param("show_original_response", "bool", default=False),
    Param("show_base_64", "bool", default=True),
    Param("webhook_receiver", "url"),
    Param("users_webhook_parameters", "json"),
    Param("send_webhook_data", "bool", default=True),
    Param("provider_params", "json", default={}),
    Param("file_url", "url"),
    Param("response_as_dict", "bool", default=True),
    Param("attributes_as_list", "bool", default=False),
)

_FILE_PASSWORD = Param("file_password", "str", max_length=200)
_DOCUMENT: tuple[Family, ...] = ("document", "image")
_VIDEO: tuple[Family, ...] = ("video",)


def _video(name: str, providers: tuple[str, ...], *params: Param) -> Subfeature:
    return Subfeature("video", name, providers, params, "file", _VIDEO)


SUBFEATURES: dict[str, Subfeature] = {
    s.path: s
    for s in (
        Subfeature(
            "audio",
            "speech_to_text_async",
            (
                "faker",
                "assembly",
                "deepgram",
                "gladia",
                "microsoft",
                "oneai",
                "symbl",
                "voxist",
                "google",
                "voci",
                "speechmatics",
                "amazon",
                "openai",
            ),
            (
                Param("language", "str"),
                Param("speakers", "int", default=2, minimum=1, maximum=20),
                Param("profanity_filter", "bool", default=False),
                Param("custom_vocabulary", "str", default=""),
                Param("convert_to_wav", "bool", default=False),
            ),
            "file",
            ("audio", "video"),
        ),
        Subfeature(
            "audio",
            "text_to_speech_async",
            ("lovoai", "amazon"),
            (
                Param("text", "str", required=True, max_length=100_000),
                Param("language", "str"),
                Param("option", "str", default="", choices=("MALE", "FEMALE")),
                Param("rate", "int", default=0, minimum=-100, maximum=100),
                Param("pitch", "int", default=0, minimum=-100, maximum=100),
                Param("volume", "int", default=0, minimum=-100, maximum=100),
                Param("audio_format", "str", default="", choices=("mp3", "wav", "ogg")),
                Param("sampling_rate", "int", default=0, minimum=0, maximum=48000),
            ),
            "text",
        ),
        Subfeature(
            "ocr",
            "ocr_async",
            ("oneai", "microsoft", "google", "mistral", "amazon"),
            (_FILE_PASSWORD,),
            "file",
            _DOCUMENT,
        ),
        Subfeature(
            "ocr",
            "ocr_tables_async",
            ("microsoft", "google", "amazon"),
            (_FILE_PASSWORD, Param("language", "str")),
            "file",
            _DOCUMENT,
        ),
        Subfeature(
            "ocr",
            "anonymization_async",
            ("base64", "readyredact", "privateai"),
            (_FILE_PASSWORD,),
            "file",
            _DOCUMENT,
        ),
        Subfeature(
            "ocr",
            "custom_document_parsing_async",
            ("amazon", "extracta"),
            (
                _FILE_PASSWORD,
                Param("queries", "raw", required=True),
                Param("convert_to_pdf", "bool", default=False),
            ),
            "file",
            _DOCUMENT,
        ),
        _video("label_detection_async", ("google", "amazon")),
        _video("face_detection_async", ("google", "amazon")),
        _video("text_detection_async", ("twelvelabs", "google", "amazon")),
        _video("object_tracking_async", ("google",)),
        _video("person_tracking_async", ("google", "amazon")),
        _video("explicit_content_detection_async", ("google", "amazon")),
        _video("logo_detection_async", ("twelvelabs", "google")),
        _video("shot_change_detection_async", ("google",)),
        _video(
            "question_answer_async",
            ("google",),
            Param("text", "str", required=True, max_length=4000),
            Param("temperature", "float", default=0.0, minimum=0, maximum=1),
            Param("max_tokens", "int", minimum=1, maximum=3_000_000),
        ),
        _video("deepfake_detection_async", ("sightengine",)),
        Subfeature(
            "video",
            "generation_async",
            ("microsoft", "google", "openai", "minimax", "amazon", "bytedance"),
            (
                Param("text", "str", required=True, max_length=2000),
                Param("duration", "int", default=6, minimum=1),
                Param("fps", "int", default=24, minimum=1),
                Param("dimension", "str", default="1280x720"),
                Param("seed", "int", default=12, minimum=0, maximum=2_147_483_646),
            ),
            "optional",
            ("image",),
        ),
    )
}

#: Async subfeatures the v2 batch endpoint takes (the spec's "Available Features" table).
BATCH_SUBFEATURES = frozenset(
    {"audio/speech_to_text_async", "ocr/ocr_tables_async", "video/text_detection_async"}
)


def find(feature: str, subfeature: str) -> Subfeature | None:
    return SUBFEATURES.get(f"{feature}/{subfeature}")
