"""Request and response models for machine translation."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from shared.schemas import Schema

MtLanguage = Literal["en", "fr"]
MAX_TEXT_CHARACTERS = 30_000  # DeepL refuses request bodies over 128 KiB


class TranslateRequest(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "Bonjour, ma facture de novembre est erronée : "
                    "on m’a facturé deux fois.",
                    "source": "fr",
                    "target": "en",
                }
            ]
        }
    )

    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT_CHARACTERS,
        examples=["Bonjour, ma facture de mars est erronée."],
    )
    source: MtLanguage = Field(examples=["fr"])
    target: MtLanguage = Field(examples=["en"])


class TranslateResult(Schema):
    text: str = Field(examples=["Hello, my March invoice is wrong."])
    source: MtLanguage
    target: MtLanguage
    provider: str = Field(examples=["libretranslate"])
    cached: bool = Field(description="Whether the answer came from the cache, not the provider.")
