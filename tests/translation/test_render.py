"""Template rendering: Babel formats per locale, French typography, errors, twins and the seeds."""

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from services.translation.templates.errors import (
    InvalidVariable,
    MissingVariable,
    TemplateSyntaxError,
    UnknownTimeZone,
    UnknownVariable,
    UnsupportedLocale,
    VersionNotFound,
)
from services.translation.templates.render import (
    BILINGUAL_SEPARATOR,
    Money,
    TemplateVersion,
    Variable,
    VariableType,
    choose_version,
    render,
    render_bilingual,
    validate_template,
)
from services.translation.templates.seed import SEED_EXAMPLES, SEED_TEMPLATES
from services.translation.templates.twins import TwinProblem, check_twins
from services.translation.templates.typography import VALUE_MARK, apply_french_typography

NNBSP = "\u202f"  # narrow no-break space
NBSP = "\u00a0"  # no-break space
TORONTO = ZoneInfo("America/Toronto")


def template(
    body: str,
    variables: Sequence[Variable] = (),
    *,
    locale: str = "en",
    subject: str = "Subject",
    key: str = "test.sample",
) -> TemplateVersion:
    return TemplateVersion(key, locale, subject, body, tuple(variables))


def one(kind: VariableType, value: object, locale: str, placeholder: str = "{v}") -> str:
    version = template(placeholder, [Variable("v", kind)], locale=locale[:2])
    return render(version, {"v": value}, locale=locale, time_zone="America/Toronto").body


@pytest.mark.parametrize(
    ("locale", "value", "expected"),
    [
        ("fr-CA", Decimal("1234.56"), f"1{NBSP}234,56{NBSP}$"),
        ("fr_CA", "1234.56", f"1{NBSP}234,56{NBSP}$"),
        ("en-CA", Decimal("1234.56"), "$1,234.56"),
        ("en-CA", 1234.56, "$1,234.56"),
        ("fr", Decimal("1234.56"), f"1{NNBSP}234,56{NBSP}$CA"),
        ("en", Decimal("1234.56"), "CA$1,234.56"),
        ("fr-CA", {"amount": "1234.56", "currency": "USD"}, f"1{NBSP}234,56{NBSP}${NBSP}US"),
        ("en-CA", Money(Decimal("20"), "EUR"), "€20.00"),
    ],
)
def test_money_is_formatted_by_babel_for_the_locale(
    locale: str, value: object, expected: str
) -> None:
    assert one("money", value, locale) == expected


@pytest.mark.parametrize(
    ("locale", "value", "expected"),
    [
        ("fr-CA", time(9, 30), f"9{NBSP}h{NBSP}30"),
        ("fr-CA", "21:05", f"21{NBSP}h{NBSP}05"),
        ("en-CA", time(9, 30), f"9:30{NNBSP}a.m."),
        ("en-CA", "21:05", f"9:05{NNBSP}p.m."),
        ("fr", time(9, 30), "09:30"),
    ],
)
def test_times_read_as_each_locale_writes_them(locale: str, value: object, expected: str) -> None:
    assert one("time", value, locale) == expected


@pytest.mark.parametrize(
    ("locale", "placeholder", "value", "expected"),
    [
        ("en-CA", "{v}", date(2025, 3, 4), "March 4, 2025"),
        ("fr-CA", "{v}", "2025-03-04", "4 mars 2025"),
        ("en-CA", "{v:date:full}", date(2025, 3, 4), "Tuesday, March 4, 2025"),
        ("fr-CA", "{v:date:full}", date(2025, 3, 4), "mardi 4 mars 2025"),
        ("en-CA", "{v:date:short}", date(2025, 3, 4), "2025-03-04"),
        ("fr", "{v:date:short}", date(2025, 3, 4), "04/03/2025"),
        ("fr-CA", "{v}", date(2025, 4, 1), "1er avril 2025"),
        ("en-CA", "{v}", date(2025, 4, 1), "April 1, 2025"),
    ],
)
def test_dates_in_both_languages(
    locale: str, placeholder: str, value: object, expected: str
) -> None:
    assert one("date", value, locale, placeholder) == expected


@pytest.mark.parametrize(
    ("locale", "value", "expected"),
    [
        ("en-CA", datetime(2025, 3, 4, 14, 30, tzinfo=UTC),
         f"Tuesday, March 4, 2025, at 9:30{NNBSP}a.m. (Eastern Time)"),
        ("fr-CA", "2025-03-04T14:30:00Z", f"mardi 4 mars 2025 à 9{NBSP}h{NBSP}30 (heure de l’Est)"),
        ("fr-CA", "2025-07-04T10:30:00-04:00",
         f"vendredi 4 juillet 2025 à 10{NBSP}h{NBSP}30 (heure de l’Est)"),
        ("fr", "2025-03-04T14:30:00Z",
         "mardi 4 mars 2025 à 09:30 (heure de l’Est nord-américain)"),
    ],
)  # fmt: skip
def test_datetimes_show_the_wall_clock_and_zone_of_the_requested_time_zone(
    locale: str, value: object, expected: str
) -> None:
    assert one("datetime", value, locale, "{v:datetime:full}") == expected


@pytest.mark.parametrize(
    ("locale", "placeholder", "expected"),
    [
        ("en-CA", "{v:datetime:medium}", f"Mar 4, 2025, 9:30{NNBSP}a.m. (Eastern Time)"),
        ("fr-CA", "{v:datetime:short}", f"2025-03-04 9{NBSP}h{NBSP}30 (heure de l’Est)"),
        ("fr-CA", "{v}", f"4 mars 2025 à 9{NBSP}h{NBSP}30 (heure de l’Est)"),
    ],
)
def test_numeric_dates_keep_the_locale_glue_and_words_take_at(
    locale: str, placeholder: str, expected: str
) -> None:
    assert one("datetime", "2025-03-04T14:30:00Z", locale, placeholder) == expected


def test_a_datetime_keeps_its_own_zone_when_no_time_zone_is_given() -> None:
    version = template("{at}", [Variable("at", "datetime")])
    at = datetime(2025, 3, 4, 9, 30, tzinfo=TORONTO)
    assert render(version, {"at": at}, locale="en-CA").body == (
        f"March 4, 2025, at 9:30{NNBSP}a.m. (Eastern Time)"
    )
    with pytest.raises(UnknownTimeZone):
        render(version, {"at": at}, locale="en-CA", time_zone="Mars/Olympus_Mons")


@pytest.mark.parametrize("value", ["2025-03-04T09:30:00-05:00", "2025-03-04T14:30:00+00:00"])
def test_a_bare_offset_without_a_time_zone_is_shown_in_utc_never_as_an_offset(
    value: str,
) -> None:
    version = template("{at}", [Variable("at", "datetime")], locale="fr")

    body = render(version, {"at": value}, locale="fr-CA").body

    assert body == f"4 mars 2025 à 14{NBSP}h{NBSP}30 (UTC)"


@pytest.mark.parametrize(
    ("locale", "body", "expected"),
    [
        ("en", "Hello {name},\nBye", "Hello,\nBye"),
        ("fr", "Bonjour {name},", "Bonjour,"),
        ("fr", "Bonjour {name} !", f"Bonjour{NNBSP}!"),
        ("en", "Dear {name} Smith", "Dear Smith"),
        ("en", "Hello {name}", "Hello"),
        ("en", "Ref {name}{other}.", "Ref x."),
        ("en", "Code {name}x", "Code x"),
    ],
)
def test_an_empty_name_takes_its_space_along(locale: str, body: str, expected: str) -> None:
    version = template(body, [Variable("name"), Variable("other")], locale=locale)

    rendered = render(version, {"name": "", "other": "x"}, locale=locale).body

    assert rendered == expected
    assert render(version, {"name": "Zoé", "other": "x"}, locale=locale).body != expected


@pytest.mark.parametrize(
    ("locale", "value", "expected"),
    [
        ("en-CA", timedelta(days=1, hours=2, minutes=30), "1 day, 2 hours and 30 minutes"),
        (
            "fr-CA",
            timedelta(days=1, hours=2, minutes=30),
            f"1{NBSP}jour, 2{NBSP}heures et 30{NBSP}minutes",
        ),
        (
            "fr",
            timedelta(days=1, hours=2, minutes=30),
            f"1{NBSP}jour, 2{NBSP}heures et 30{NBSP}minutes",
        ),
        ("en-CA", timedelta(minutes=90), "1 hour and 30 minutes"),
        ("en-CA", 14_400, "4 hours"),
        ("en-CA", 0, "0 minutes"),
    ],
)
def test_durations_are_exact_not_rounded_to_one_unit(
    locale: str, value: object, expected: str
) -> None:
    assert one("duration", value, locale) == expected


def test_numbers_use_the_locale_separators() -> None:
    assert one("number", "1234567.5", "fr-CA") == f"1{NBSP}234{NBSP}567,5"
    assert one("number", 1234567.5, "en-CA") == "1,234,567.5"


def test_a_bare_language_formats_as_babel_root_unless_a_default_territory_is_given() -> None:
    version = template("{v}", [Variable("v", "money")], locale="fr")
    france = render(version, {"v": "1234.56"}, locale="fr")
    canada = render(version, {"v": "1234.56"}, locale="fr", default_territory="CA")
    assert (france.body, france.locale) == (f"1{NNBSP}234,56{NBSP}$CA", "fr")
    assert (canada.body, canada.locale) == (f"1{NBSP}234,56{NBSP}$", "fr-CA")


def test_french_typography_applies_to_the_literal_text() -> None:
    version = template(
        'Bonjour {name} ! Une question ? Référence: {ref}; voir « ici » et "là". '
        "Remise de 10 %, l'équipe.",
        [Variable("name"), Variable("ref")],
        locale="fr",
        subject="Votre demande {ref} : suivi",
    )
    message = render(version, {"name": "Zoé", "ref": "A-1"}, locale="fr-CA")
    assert message.subject == f"Votre demande A-1{NNBSP}: suivi"
    assert message.body == (
        f"Bonjour Zoé{NNBSP}! Une question{NNBSP}? Référence{NNBSP}: A-1{NNBSP}; "
        f"voir «{NNBSP}ici{NNBSP}» et «{NNBSP}là{NNBSP}». Remise de 10{NBSP}%, l’équipe."
    )


def test_french_typography_leaves_urls_emails_times_and_values_alone() -> None:
    version = template(
        "Voir https://exemple.ca/aide?x=1&y=2 ou écrire à aide@exemple.ca; ouvert dès 9:30! "
        "Suivi : https://exemple.ca/suivi! {note}",
        [Variable("note")],
        locale="fr",
    )
    body = render(version, {"note": "Objet : « test » ?"}, locale="fr-CA").body
    assert body == (
        f"Voir https://exemple.ca/aide?x=1&y=2 ou écrire à aide@exemple.ca{NNBSP}; "
        f"ouvert dès 9:30{NNBSP}! Suivi{NNBSP}: https://exemple.ca/suivi{NNBSP}! Objet : « test » ?"
    )


def test_english_text_keeps_its_own_punctuation() -> None:
    text = 'Hello {name}! Note: "quoted" at 9:30; 10% off?'
    version = template(text, [Variable("name")])
    assert render(version, {"name": "Sam"}, locale="en-CA").body == text.replace("{name}", "Sam")


def test_french_typography_is_idempotent() -> None:
    once = apply_french_typography('Oui ! "Bien" : 5 % ; https://x.ca?')
    assert once == f"Oui{NNBSP}! «{NNBSP}Bien{NNBSP}»{NNBSP}: 5{NBSP}%{NNBSP}; https://x.ca{NNBSP}?"
    assert apply_french_typography(once) == once


def test_literal_braces_are_escaped_by_doubling() -> None:
    version = template("{{code}} = {v}", [Variable("v")])
    assert render(version, {"v": "x"}, locale="en").body == "{code} = x"


def test_a_missing_variable_is_named() -> None:
    version = template("Hi {name}, ref {ref}", [Variable("name"), Variable("ref")])
    with pytest.raises(MissingVariable) as missing:
        render(version, {"name": "Sam"}, locale="en-CA")
    assert missing.value.name == "ref"
    assert missing.value.code == "template.variable_missing"
    assert "'ref'" in str(missing.value)
    assert missing.value.detail("fr-CA") == f"La variable «{NNBSP}ref{NNBSP}» est requise."
    with pytest.raises(MissingVariable):
        render(version, {"name": "Sam", "ref": None}, locale="en-CA")
    assert render(version, {"name": "Sam", "ref": "R1"}, locale="en-CA").body == "Hi Sam, ref R1"


def test_an_undeclared_variable_is_refused() -> None:
    version = template("Hi {name}", [Variable("name")])
    with pytest.raises(UnknownVariable) as unknown:
        render(version, {"name": "Sam", "nmae": "typo"}, locale="en-CA")
    assert unknown.value.name == "nmae"


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("text", 42),
        ("text", "bell\x07"),
        ("number", True),
        ("number", "twelve"),
        ("number", "NaN"),
        ("money", "douze"),
        ("money", {"amount": "1", "currency": "XYZ"}),
        ("money", {"amount": "1", "rate": "2"}),
        ("date", "2025-13-01"),
        ("date", datetime(2025, 3, 4, 9, 30, tzinfo=UTC)),
        ("time", "9h30"),
        ("datetime", datetime(2025, 3, 4, 9, 30)),  # noqa: DTZ001  # naive on purpose
        ("datetime", "2025-03-04T09:30"),
        ("duration", -60),
        ("duration", "soon"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_variable_and_type(
    kind: VariableType, value: object
) -> None:
    with pytest.raises(InvalidVariable) as invalid:
        one(kind, value, "en-CA")
    assert (invalid.value.name, invalid.value.expected) == ("v", kind)
    assert invalid.value.detail("fr").startswith(f"La variable «{NNBSP}v{NNBSP}» doit être ")


def test_a_line_break_cannot_reach_the_subject_but_may_reach_the_body() -> None:
    version = template("{note}", [Variable("note")], subject="Re: {note}")
    with pytest.raises(InvalidVariable):
        render(version, {"note": "hi\r\nBcc: all@example.com"}, locale="en")
    body_only = template("{note}", [Variable("note")])
    assert render(body_only, {"note": "line 1\nline 2"}, locale="en").body == "line 1\nline 2"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{v.__class__}", "bad_placeholder"),
        ("{v[0]}", "bad_placeholder"),
        ("{v!r}", "bad_placeholder"),
        ("{__import__}", "bad_placeholder"),
        ("{ v }", "bad_placeholder"),
        ("{0}", "bad_placeholder"),
        ("{v:text:full:x}", "bad_placeholder"),
        ("{v", "unmatched_brace"),
        ("v }", "unmatched_brace"),
        ("{v:float}", "unknown_type"),
        ("{v:date:iso}", "unknown_style"),
        ("{v:money:full}", "unknown_style"),
        ("{v:text}", "type_mismatch"),
    ],
)
def test_template_syntax_errors_are_typed_and_located(body: str, reason: str) -> None:
    version = template(f"Line one\nAmount {body}", [Variable("v", "date")])
    with pytest.raises(TemplateSyntaxError) as error:
        validate_template(version)
    assert (error.value.field, error.value.reason) == ("body", reason)
    with pytest.raises(TemplateSyntaxError):
        render(version, {"v": date(2025, 3, 4)}, locale="en")


def test_a_syntax_error_reports_line_and_column_in_both_languages() -> None:
    with pytest.raises(TemplateSyntaxError) as error:
        validate_template(template("Hello,\n  {name.upper}", [Variable("name")]))
    assert (error.value.line, error.value.column) == (2, 3)
    assert "(line 2, column 3)" in str(error.value)
    assert "(ligne 2, colonne 3)" in error.value.detail("fr")


@pytest.mark.parametrize(
    ("version", "error"),
    [
        (template("Hi {who}", [Variable("name")]), UnknownVariable),
        (template("Hi", key="Not A Key"), TemplateSyntaxError),
        (template("Hi", locale="de"), UnsupportedLocale),
        (template("Hi", locale="fr-FR"), UnsupportedLocale),
        (template("Hi", subject="Two\nlines"), TemplateSyntaxError),
        (template("Hi", subject="  "), TemplateSyntaxError),
        (template(" "), TemplateSyntaxError),
        (template("Hi {a}", [Variable("a"), Variable("a")]), TemplateSyntaxError),
        (template("Hi {a}", [Variable("A")]), TemplateSyntaxError),
        (template("{a}", [Variable("a", "money", currency="XYZ")]), InvalidVariable),
    ],
)
def test_validation_refuses_bad_templates(version: TemplateVersion, error: type[Exception]) -> None:
    with pytest.raises(error):
        validate_template(version)


def test_validation_accepts_a_sound_template() -> None:
    version = template(
        "Hello {name}, {{braces}} {due:date:full} {amount:money}",
        [Variable("name"), Variable("due", "date"), Variable("amount", "money")],
        locale="fr-CA",
        subject="Rappel : {name}",
    )
    validate_template(version)


@pytest.mark.parametrize("locale", ["en-CA", "de", "und", "", "zz-ZZ"])
def test_a_french_template_renders_only_in_french(locale: str) -> None:
    version = template("Bonjour", locale="fr")
    with pytest.raises(UnsupportedLocale):
        render(version, {}, locale=locale)
    assert render(version, {}, locale="fr-CA").locale == "fr-CA"


def test_choose_version_prefers_the_exact_tag_then_the_language() -> None:
    en, fr, fr_ca = (template("x", locale=tag) for tag in ("en", "fr", "fr-CA"))
    assert choose_version([en, fr, fr_ca], "fr-CA") is fr_ca
    assert choose_version([en, fr, fr_ca], "fr") is fr
    assert choose_version([en, fr], "fr-CA") is fr
    assert choose_version([en, fr_ca], "fr-FR") is fr_ca
    assert choose_version([en, fr], "en-CA") is en
    with pytest.raises(VersionNotFound):
        choose_version([en], "fr-CA")
    with pytest.raises(UnsupportedLocale):
        choose_version([en, fr], "es")


def stamped(
    locale: str, at: datetime, *, single: bool = False, names: str = "a"
) -> TemplateVersion:
    variables = tuple(Variable(name) for name in names)
    return TemplateVersion("k", locale, "s", "b", variables, single_language=single, updated_at=at)


NOON = datetime(2025, 3, 4, 12, tzinfo=UTC)


def test_twins_written_together_have_no_problem() -> None:
    assert (
        check_twins([stamped("en", NOON), stamped("fr", NOON + timedelta(milliseconds=300))]) == []
    )
    assert check_twins([stamped("en-CA", NOON), stamped("fr-CA", NOON)]) == []


def test_a_lone_language_is_a_missing_twin_unless_single_language() -> None:
    assert check_twins([stamped("en", NOON)]) == [TwinProblem("k", "en", "fr", "missing_twin")]
    assert check_twins([stamped("en", NOON, single=True)]) == []


def test_regional_versions_pair_with_each_other() -> None:
    problems = check_twins([stamped("en-CA", NOON), stamped("fr", NOON)])
    assert problems == [
        TwinProblem("k", "fr", "en", "missing_twin"),
        TwinProblem("k", "en-CA", "fr-CA", "missing_twin"),
    ]


def test_the_older_twin_is_reported_stale() -> None:
    later = NOON + timedelta(hours=1)
    assert check_twins([stamped("en", NOON), stamped("fr", later)]) == [
        TwinProblem("k", "en", "fr", "stale_twin")
    ]
    assert check_twins([stamped("en-CA", later), stamped("fr-CA", NOON)]) == [
        TwinProblem("k", "fr-CA", "en-CA", "stale_twin")
    ]


def test_twins_must_declare_the_same_variables() -> None:
    problem = TwinProblem("k", "en", "fr", "variables_differ")
    assert check_twins([stamped("en", NOON), stamped("fr", NOON, names="ab")]) == [problem]
    assert problem.detail("fr") == (
        f"Les versions «{NNBSP}en{NNBSP}» et «{NNBSP}fr{NNBSP}» du modèle «{NNBSP}k{NNBSP}» "
        "ne déclarent pas les mêmes variables."
    )


def test_a_twin_problem_explains_itself_in_both_languages() -> None:
    problem = TwinProblem("k", "fr", "en", "stale_twin")
    assert problem.detail("en") == "Template 'k' fr is older than its en twin: review it."
    assert problem.detail("fr") == (
        f"La version «{NNBSP}fr{NNBSP}» du modèle «{NNBSP}k{NNBSP}» est plus ancienne que son "
        f"équivalent «{NNBSP}en{NNBSP}»{NNBSP}: révisez-la."
    )


def test_a_bilingual_message_puts_french_first_with_a_separator() -> None:
    fr = template("Bonjour {name} !", [Variable("name")], locale="fr", subject="Objet")
    en = template("Hello {name}!", [Variable("name")], subject="Subject")
    message = render_bilingual(fr, en, {"name": "Sam"}, french_locale="fr-CA")
    assert message.subject == "Objet / Subject"
    assert message.body == f"Bonjour Sam{NNBSP}!\n\n{BILINGUAL_SEPARATOR}\n\nHello Sam!"
    assert message.locale == "und"
    english_first = render_bilingual(fr, en, {"name": "Sam"}, first="en", separator="* * *")
    assert english_first.body == f"Hello Sam!\n\n* * *\n\nBonjour Sam{NNBSP}!"
    with pytest.raises(UnsupportedLocale):
        render_bilingual(en, fr, {"name": "Sam"})


SEED_KEYS = {
    "email.acknowledgement",
    "notice.out_of_hours",
    "callback.confirmation",
    "letter.payment_arrangement",
    "conversation.closing",
}


def test_every_seeded_key_exists_in_english_and_french_and_is_valid() -> None:
    assert {(t.key, t.locale) for t in SEED_TEMPLATES} == {
        (key, locale) for key in SEED_KEYS for locale in ("en", "fr")
    }
    for version in SEED_TEMPLATES:
        validate_template(version)
    assert check_twins(SEED_TEMPLATES) == []


@pytest.mark.parametrize("version", SEED_TEMPLATES, ids=lambda t: f"{t.key}-{t.locale}")
def test_every_seeded_template_renders_with_its_example(version: TemplateVersion) -> None:
    locale = f"{version.locale}-CA"
    variables = SEED_EXAMPLES[version.key][version.locale]
    message = render(version, variables, locale=locale, time_zone="America/Toronto")
    text = f"{message.subject}\n{message.body}"
    assert message.locale == locale
    assert re.search("[{}]", text) is None
    if version.locale == "fr":
        assert re.search(r"[ \u00a0][?!:;]", text) is None
        assert re.search("« | »|'", text) is None


@pytest.mark.parametrize(
    "version", [v for v in SEED_TEMPLATES if v.locale == "fr"], ids=lambda t: t.key
)
def test_stored_french_seeds_already_read_as_typeset(version: TemplateVersion) -> None:
    # administrators read and edit the stored text: it should not need the renderer's fixes
    for text in (version.subject, version.body):
        literal = re.sub(r"\{[^{}\n]*\}", VALUE_MARK, text)  # placeholders are not typeset
        assert apply_french_typography(literal) == literal
        assert "'" not in text


def test_seeded_letters_show_canadian_money_and_times() -> None:
    def seeded(key: str, locale: str) -> str:
        version = choose_version((t for t in SEED_TEMPLATES if t.key == key), locale)
        variables = SEED_EXAMPLES[key][locale[:2]]
        return render(version, variables, locale=locale, time_zone="America/Toronto").body

    assert f"Solde visé par l’entente{NNBSP}: 1{NBSP}234,56{NBSP}$\n" in seeded(
        "letter.payment_arrangement", "fr-CA"
    )
    assert "Balance covered by this arrangement: $1,234.56\n" in seeded(
        "letter.payment_arrangement", "en-CA"
    )
    assert f"le mardi 4 mars 2025 à 9{NBSP}h{NBSP}30 (heure de l’Est)." in seeded(
        "callback.confirmation", "fr-CA"
    )
    assert f"on Tuesday, March 4, 2025, at 9:30{NNBSP}a.m. (Eastern Time)." in seeded(
        "callback.confirmation", "en-CA"
    )
    assert f"dans un délai de 4{NBSP}heures." in seeded("email.acknowledgement", "fr-CA")


def test_every_seeded_key_renders_bilingually() -> None:
    for key in SEED_KEYS:
        fr, en = (
            next(t for t in SEED_TEMPLATES if (t.key, t.locale) == (key, tag))
            for tag in ("fr", "en")
        )
        variables = {**SEED_EXAMPLES[key]["en"]}
        message = render_bilingual(fr, en, variables, french_locale="fr-CA", english_locale="en-CA",
                                   time_zone="America/Toronto")  # fmt: skip
        assert message.body.index(BILINGUAL_SEPARATOR) > message.body.index("Bonjour")
