"""Machine-translation providers over HTTP: LibreTranslate (self-hosted) and DeepL.

Each call is bounded by one overall deadline on top of httpx's own timeouts, so a provider that
trickles its answer cannot hold a request; any failure, refusal or malformed answer becomes
TranslationUnavailable (503 with Retry-After), never a hang nor a 500.
"""

from __future__ import annotations

import asyncio

import httpx
from pydantic import SecretStr

from services.translation.errors import TranslationUnavailable
from services.translation.mt.schemas import MtLanguage
from shared.logging import get_logger

log = get_logger(__name__)

DEEPL_FREE_URL = "https://api-free.deepl.com"
DEEPL_PRO_URL = "https://api.deepl.com"
_MAX_RETRY_AFTER = 3600


def deepl_base_url(api_key: str, override: str | None = None) -> str:
    """DeepL's base URL: the override, else the Free API's for keys ending ``:fx``, else Pro's."""
    if override:
        return override.rstrip("/")
    return DEEPL_FREE_URL if api_key.endswith(":fx") else DEEPL_PRO_URL


class _HttpProvider:
    name: str

    def __init__(self, http: httpx.AsyncClient, *, timeout: float, retry_after: int) -> None:
        self._http = http
        self._timeout = timeout
        self._retry_after = retry_after

    def _unavailable(self, retry_after: int | None = None) -> TranslationUnavailable:
        wait = retry_after or self._retry_after
        return TranslationUnavailable(provider=self.name, retry_after=wait)

    async def _post(self, url: str, payload: dict[str, object], headers: dict[str, str]) -> object:
        """The provider's JSON answer to a POST; raises TranslationUnavailable otherwise."""
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._http.post(url, json=payload, headers=headers)
        except (httpx.HTTPError, TimeoutError) as error:
            log.warning("mt.provider_unreachable", provider=self.name, error=type(error).__name__)
            raise self._unavailable() from error
        if response.status_code != 200:
            log.warning("mt.provider_refused", provider=self.name, status=response.status_code)
            raise self._unavailable(_retry_after(response))
        try:
            return response.json()
        except ValueError as error:
            log.warning("mt.provider_malformed", provider=self.name)
            raise self._unavailable() from error

    def _malformed(self) -> TranslationUnavailable:
        log.warning("mt.provider_malformed", provider=self.name)
        return self._unavailable()


class LibreTranslateProvider(_HttpProvider):
    """LibreTranslate's ``POST /translate``: ``q``, ``source``, ``target`` → ``translatedText``."""

    name = "libretranslate"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: SecretStr | None,
        timeout: float,
        retry_after: int,
    ) -> None:
        super().__init__(http, timeout=timeout, retry_after=retry_after)
        self._url = f"{base_url.rstrip('/')}/translate"
        self._api_key = api_key

    async def translate(self, text: str, *, source: MtLanguage, target: MtLanguage) -> str:
        """The text in ``target``, as LibreTranslate translates it."""
        payload: dict[str, object] = {"q": text, "source": source, "target": target}
        payload["format"] = "text"  # plain text: markup in a message must not be interpreted
        if self._api_key is not None:
            payload["api_key"] = self._api_key.get_secret_value()
        answer = await self._post(self._url, payload, {})
        translated = answer.get("translatedText") if isinstance(answer, dict) else None
        if not isinstance(translated, str):
            raise self._malformed()
        return translated


class DeepLProvider(_HttpProvider):
    """DeepL's ``POST /v2/translate`` with ``Authorization: DeepL-Auth-Key …``."""

    name = "deepl"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: SecretStr,
        base_url: str | None,
        english_variant: str,
        timeout: float,
        retry_after: int,
    ) -> None:
        super().__init__(http, timeout=timeout, retry_after=retry_after)
        self._url = f"{deepl_base_url(api_key.get_secret_value(), base_url)}/v2/translate"
        self._api_key = api_key
        # DeepL deprecates a bare "EN" target: it wants a regional variant
        self._targets = {"fr": "FR", "en": english_variant}

    async def translate(self, text: str, *, source: MtLanguage, target: MtLanguage) -> str:
        """The text in ``target``, as DeepL translates it."""
        payload: dict[str, object] = {
            "text": [text],
            "source_lang": source.upper(),
            "target_lang": self._targets[target],
        }
        headers = {"Authorization": f"DeepL-Auth-Key {self._api_key.get_secret_value()}"}
        answer = await self._post(self._url, payload, headers)
        translations = answer.get("translations") if isinstance(answer, dict) else None
        first = translations[0] if isinstance(translations, list) and translations else None
        translated = first.get("text") if isinstance(first, dict) else None
        if not isinstance(translated, str):
            raise self._malformed()
        return translated


def _retry_after(response: httpx.Response) -> int | None:
    """The provider's own Retry-After in seconds, when it gives a sane one."""
    value = response.headers.get("retry-after", "")
    if value.isdigit() and 0 < int(value) <= _MAX_RETRY_AFTER:
        return int(value)
    return None
