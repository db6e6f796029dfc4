"""Every text a person reads through the API exists in French, with French typography."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import services.all_in_one  # noqa: F401  (imports every service's errors)
from services.inbox.app import LOCALE_DIR as INBOX_LOCALES
from services.routing.app import LOCALE_DIR as ROUTING_LOCALES
from services.routing.errors import AgentHoldsTasks, QueueInUse
from services.translation.app import LOCALE_DIR as TRANSLATION_LOCALES
from shared.errors import error_classes
from shared.i18n import SHARED_LOCALE_DIR, Choices, Plural, Translator
from shared.problems import EMPTY_REASON, GENERIC_REASON, VALIDATION_REASONS, render_problem

TRANSLATOR = Translator([SHARED_LOCALE_DIR, INBOX_LOCALES, ROUTING_LOCALES, TRANSLATION_LOCALES])
SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \u00a0][;:!?]|«[ \u00a0]|[ \u00a0]»")


def english_texts() -> set[str]:
    texts = {GENERIC_REASON, EMPTY_REASON, *VALIDATION_REASONS.values()}
    for cls in error_classes():
        texts |= {cls.title, cls.detail_template}
    return texts


def test_every_error_and_validation_text_has_a_french_translation() -> None:
    missing = sorted(text for text in english_texts() if not TRANSLATOR.has(text, "fr"))

    assert missing == []


def test_french_texts_use_narrow_no_break_spaces() -> None:
    french = [TRANSLATOR.gettext(text, "fr") for text in english_texts()]
    wrong = [text for text in french if SPACE_BEFORE_PUNCTUATION.search(text)]

    assert wrong == []
    assert any("\u202f;" in text for text in french)


def test_placeholders_survive_translation() -> None:
    for text in english_texts():
        placeholders = set(re.findall(r"\{(\w+)\}", text))
        pairs = [(text, TRANSLATOR.gettext(text, "fr"))]
        if isinstance(text, Plural):
            one = TRANSLATOR.ngettext(text.singular, text, 1, "fr")
            pairs = [
                (text.singular, one),
                (text, TRANSLATOR.ngettext(text.singular, text, 2, "fr")),
            ]
        for english, french in pairs:
            assert set(re.findall(r"\{(\w+)\}", english)) == placeholders, english
            assert set(re.findall(r"\{(\w+)\}", french)) == placeholders, french


def test_numbers_in_texts_are_written_each_languages_way() -> None:
    too_large = "The message exceeds the limit of {limit} bytes; nothing was stored."
    at_least = "Must be at least {ge}."

    assert TRANSLATOR.format(too_large, "en", {"limit": 26_214_400}) == (
        "The message exceeds the limit of 26,214,400 bytes; nothing was stored."
    )
    assert TRANSLATOR.format(too_large, "fr", {"limit": 26_214_400}) == (
        "Le message dépasse la limite de 26\u202f214\u202f400 octets"
        "\u202f; rien n’a été enregistré."
    )
    assert TRANSLATOR.format(at_least, "en", {"ge": 0.5}) == "Must be at least 0.5."
    assert TRANSLATOR.format(at_least, "fr", {"ge": 0.5}) == "Doit valoir au moins 0,5."
    # Identifiers and words are left as they are.
    assert TRANSLATOR.format("There is no contact {contact_id}.", "fr", {"contact_id": "42"}) == (
        "Il n’existe aucun contact 42."
    )


def test_a_count_takes_the_singular_or_plural_each_language_gives_it() -> None:
    def detail(error: QueueInUse | AgentHoldsTasks, locale: str) -> object:
        problem = render_problem(
            error, locale=locale, translator=TRANSLATOR, instance="/", request_id=None
        )
        return problem["detail"]

    assert detail(QueueInUse(count=1), "en") == (
        "The queue still holds 1 open task; move or finish it first."
    )
    assert detail(QueueInUse(count=2), "en") == (
        "The queue still holds 2 open tasks; move or finish them first."
    )
    assert detail(QueueInUse(count=1), "fr") == (
        "La file contient encore 1\u00a0tâche ouverte\u202f; déplacez-la ou terminez-la d’abord."
    )
    assert detail(QueueInUse(count=2), "fr") == (
        "La file contient encore 2\u00a0tâches ouvertes\u202f; "
        "déplacez-les ou terminez-les d’abord."
    )
    # French takes the singular for zero; numbers keep the locale's separators.
    assert detail(AgentHoldsTasks(count=0), "fr") == (
        "L’agent détient encore 0\u00a0tâche offerte ou attribuée."
    )
    assert detail(AgentHoldsTasks(count=0), "en") == (
        "The agent still holds 0 offered or assigned tasks."
    )
    assert detail(AgentHoldsTasks(count=1234), "fr") == (
        "L’agent détient encore 1\u202f234\u00a0tâches offertes ou attribuées."
    )


def test_length_reasons_agree_with_their_number() -> None:
    at_most = VALIDATION_REASONS["string_too_long"]

    assert (
        TRANSLATOR.format(at_most, "en", {"max_length": 1}) == "Must be at most 1 character long."
    )
    assert (
        TRANSLATOR.format(at_most, "en", {"max_length": 2}) == "Must be at most 2 characters long."
    )
    assert (
        TRANSLATOR.format(at_most, "fr", {"max_length": 1})
        == "Doit compter au plus 1\u00a0caractère."
    )
    assert TRANSLATOR.format(at_most, "fr", {"max_length": 2}) == (
        "Doit compter au plus 2\u00a0caractères."
    )
    items = VALIDATION_REASONS["too_long"]
    assert (
        TRANSLATOR.format(items, "fr", {"max_length": 1}) == "Doit contenir au plus 1\u00a0élément."
    )
    assert TRANSLATOR.format(items, "en", {"max_length": 20}) == "Must have at most 20 items."


def test_allowed_values_are_listed_the_way_each_language_writes_a_list() -> None:
    one_of = VALIDATION_REASONS["literal_error"]
    languages = Choices(["en", "fr", "und"])

    assert TRANSLATOR.format(one_of, "en", {"expected": languages}) == (
        "Must be one of: 'en', 'fr', or 'und'."
    )
    assert TRANSLATOR.format(one_of, "fr", {"expected": languages}) == (
        "Doit être l’une des valeurs suivantes\u202f: "
        "«\u202fen\u202f», «\u202ffr\u202f» ou «\u202fund\u202f»."
    )


# Every reason a client may read, found in the source: the literal or constant given to
# FieldError, the message of a PydanticCustomError or invalid_at, and the module-level reason
# tables (REASON_*, *_REASONS, *_TEXTS). Each must have its French text in the catalogs that the
# service raising it reads (the shared catalog plus its own).
ROOT = Path(__file__).resolve().parents[2]
SERVICE_LOCALES = {
    "inbox": INBOX_LOCALES,
    "routing": ROUTING_LOCALES,
    "translation": TRANSLATION_LOCALES,
}
REASON_TABLE = re.compile(r"^REASONS?_|_REASONS?$|_TEXTS$")


def _texts(node: ast.expr) -> Iterator[str]:
    """The texts of a constant: a string, a Plural, or the values of a dict, list or tuple."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from _texts(value)
    elif isinstance(node, ast.List | ast.Tuple):
        for item in node.elts:
            yield from _texts(item)
    elif isinstance(node, ast.Call) and _called(node) == "Plural":
        singular, plural = (ast.literal_eval(arg) for arg in node.args[:2])
        yield Plural(singular, plural)


def _called(call: ast.Call) -> str:
    func = call.func
    return (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )


def _reason_argument(call: ast.Call) -> ast.expr | None:
    """The node holding the English reason of a FieldError, PydanticCustomError or invalid_at."""
    position, keyword = {
        "FieldError": (2, "reason"),
        "PydanticCustomError": (1, "message_template"),
        "invalid_at": (2, "message"),
    }.get(_called(call), (-1, ""))
    if position < 0:
        return None
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def reasons_in_source() -> Iterator[tuple[str, str, str]]:
    """(file, owning service or "shared", English text) for each reason a client may read."""
    for path in sorted([*(ROOT / "services").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]):
        relative = path.relative_to(ROOT)
        owner = relative.parts[1] if relative.parts[0] == "services" else "shared"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants: dict[str, ast.expr] = {}
        for statement in tree.body:
            if isinstance(statement, ast.Assign):
                targets, value = statement.targets, statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                targets, value = [statement.target], statement.value
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = value
                    if REASON_TABLE.search(target.id):
                        for text in _texts(value):
                            yield str(relative), owner, text
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (argument := _reason_argument(node)) is not None:
                if isinstance(argument, ast.Name) and argument.id in constants:
                    argument = constants[argument.id]
                for text in _texts(argument):
                    yield str(relative), owner, text


def reasons_in_a_fresh_interpreter() -> list[tuple[str, str, str]]:
    """``reasons_in_source`` run by a new interpreter: CPython 3.11.7's ``ast.parse`` fails with
    "AST constructor recursion depth mismatch" (gh-106905) once something earlier in the process
    (the API fuzz test's generators) left its depth counter off."""
    script = (
        "import json\n"
        "from tests.shared.test_i18n import reasons_in_source\n"
        "print(json.dumps([[f, o, t, getattr(t, 'singular', None)] "
        "for f, o, t in reasons_in_source()]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [
        (file, owner, Plural(singular, text) if singular is not None else text)
        for file, owner, text, singular in json.loads(done.stdout)
    ]


def test_every_reason_in_the_code_has_its_french_text_where_its_service_reads() -> None:
    translators = {
        owner: Translator([SHARED_LOCALE_DIR, *([folder] if folder else [])])
        for owner, folder in [("shared", None), *SERVICE_LOCALES.items()]
    }
    found = reasons_in_a_fresh_interpreter()
    missing = sorted(
        f"{file}: {text}" for file, owner, text in found if not translators[owner].has(text, "fr")
    )

    assert any(text == "Not a phone number." for _, _, text in found)
    assert any(
        text == "Unknown time zone; use an IANA name such as America/Toronto." for *_, text in found
    )
    assert missing == []
