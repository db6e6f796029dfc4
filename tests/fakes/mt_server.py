"""A machine-translation server on a loopback port, speaking LibreTranslate's and DeepL's APIs.

It checks requests the way the real services do (LibreTranslate's ``POST /translate`` with
``q``/``source``/``target``/``format``/``api_key``; DeepL's ``POST /v2/translate`` with a JSON
``text`` list, ``source_lang``/``target_lang`` and ``Authorization: DeepL-Auth-Key …``) and
answers in their formats, including their error bodies. Tests can make it fail, refuse with
Retry-After, answer garbage or hang, and read every request it received.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

#: The fake's whole dictionary: enough to tell a translation from an echo.
GLOSSARY = {
    ("en", "fr"): {"Hello": "Bonjour", "Thank you for your patience.": "Merci de votre patience."},
    ("fr", "en"): {"Bonjour": "Hello", "Ma facture est erronée.": "My invoice is wrong."},
}
DEEPL_TARGETS = {"FR": "fr", "EN-US": "en", "EN-GB": "en", "DE": "de"}
DEEPL_SOURCES = {"EN": "en", "FR": "fr", "DE": "de"}
LIBRE_LANGUAGES = {"en", "fr", "de", "auto"}

Behaviour = Literal["normal", "fail", "throttle", "garbage", "hang"]


def fake_translation(text: str, source: str, target: str) -> str:
    """What the fake answers: the glossary's entry, else the text tagged with its target."""
    return GLOSSARY.get((source, target), {}).get(text, f"[{target}] {text}")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeMtServer:
    """The server's state: its URL once started, what it received, and how it behaves."""

    api_key: str = "fake-key"
    behaviour: Behaviour = "normal"
    retry_after: str = "120"
    url: str = ""
    received: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/translate", self._libretranslate, methods=["POST"]),
                Route("/v2/translate", self._deepl, methods=["POST"]),
            ]
        )

    async def _record(self, request: Request) -> Any:
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.received.append(Received(request.url.path, dict(request.headers), body))
        return body

    async def _misbehave(self, error_key: str) -> Response | None:
        if self.behaviour == "hang":
            await self.release.wait()
        if self.behaviour == "fail":
            return JSONResponse({error_key: "Internal error"}, status_code=500)
        if self.behaviour == "throttle":
            return JSONResponse(
                {error_key: "Too many requests"},
                status_code=429,
                headers={"Retry-After": self.retry_after},
            )
        if self.behaviour == "garbage":
            return Response("<html>gateway</html>", media_type="text/html")
        return None

    async def _libretranslate(self, request: Request) -> Response:
        body = await self._record(request)
        if not isinstance(body, dict):
            return JSONResponse({"error": "Invalid JSON format"}, status_code=400)
        if body.get("api_key") != self.api_key:
            return JSONResponse({"error": "Invalid API key"}, status_code=403)
        text, source, target = body.get("q"), body.get("source"), body.get("target")
        if not isinstance(text, str) or not text:
            return JSONResponse({"error": "Invalid request: missing q parameter"}, status_code=400)
        if source not in LIBRE_LANGUAGES or target not in LIBRE_LANGUAGES - {"auto"}:
            return JSONResponse({"error": f"{source} is not supported"}, status_code=400)
        if body.get("format", "text") not in ("text", "html"):
            return JSONResponse({"error": "Invalid format"}, status_code=400)
        failure = await self._misbehave("error")
        if failure is not None:
            return failure
        return JSONResponse({"translatedText": fake_translation(text, source, target)})

    async def _deepl(self, request: Request) -> Response:
        body = await self._record(request)
        if request.headers.get("authorization") != f"DeepL-Auth-Key {self.api_key}":
            return JSONResponse({"message": "Authorization failed"}, status_code=403)
        if not isinstance(body, dict) or not isinstance(body.get("text"), list):
            return JSONResponse({"message": "Parameter 'text' not specified."}, status_code=400)
        target = DEEPL_TARGETS.get(str(body.get("target_lang", "")).upper())
        if target is None:
            return JSONResponse(
                {"message": "Value for 'target_lang' not supported."}, status_code=400
            )
        given = body.get("source_lang")
        source = DEEPL_SOURCES.get(str(given).upper()) if given is not None else "en"
        if source is None:
            return JSONResponse(
                {"message": "Value for 'source_lang' not supported."}, status_code=400
            )
        failure = await self._misbehave("message")
        if failure is not None:
            return failure
        translations = [
            {
                "detected_source_language": source.upper(),
                "text": fake_translation(t, source, target),
            }
            for t in body["text"]
        ]
        return JSONResponse({"translations": translations})


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test runner, not this server, owns the process's signals


@contextlib.asynccontextmanager
async def running_mt_server(**options: Any) -> AsyncIterator[FakeMtServer]:
    """Serve a FakeMtServer on a free loopback port for the duration of the block."""
    fake = FakeMtServer(**options)
    with _listening_socket() as sock:
        port = sock.getsockname()[1]
        fake.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            fake.app(), lifespan="off", ws="none", http="h11", log_config=None, access_log=False
        )
        server = _Server(config)
        # the socket already listens: connections wait in its backlog until uvicorn accepts
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            yield fake
        finally:
            fake.release.set()
            server.should_exit = True
            await task


@contextlib.contextmanager
def _listening_socket() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock
    finally:
        sock.close()
