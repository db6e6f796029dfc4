"""Benchmarks English/French detection: our detector beside langdetect and lingua, in one run.

The evaluation set is real English and French text read at run time from the French gettext
catalogs Debian installs (see ``bench/langid_data.py``; ``apt-get install -y coreutils git
gnupg postgresql-client`` brings some if the machine has none). It holds clean texts bucketed
by length (1-2, 3-5, 6-12, 13-30, 31+ words) and a hard split built from the same texts: a
reply above quoted history in the other language, a body above a disclaimer in the other
language, French without accents, order numbers, URLs and phone numbers mixed in.

Compared, each on the same texts and timed in this process: our ``detect`` (cleaning
included; for texts of one or two words it adds lingua's en/fr confidence to its own
evidence), langdetect over all its 55 languages (seeded), langdetect limited to en+fr
(seeded) and lingua limited to en+fr. ``und`` counts as a wrong answer; ``ours_forced``
shows our likelier language even below the ``und`` threshold. Determinism is checked by a
second pass and by a fresh interpreter with another hash seed. The detector's constants were
tuned on the ``dev`` part; the default ``--part test`` measures on the other half.

    .venv/bin/python bench/langid.py --quick    # a sample, under a minute
    .venv/bin/python bench/langid.py            # every text, a few minutes

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from langdetect import DetectorFactory, detector_factory
from langdetect.lang_detect_exception import LangDetectException
from lingua import Language, LanguageDetectorBuilder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.langid_data import (  # noqa: E402
    BUCKETS,
    HARD_KINDS,
    DataMissingError,
    Sample,
    clean_samples,
    hard_samples,
    load_pairs,
)
from services.translation.detection.detector import detect, warm_up  # noqa: E402

Detector = Callable[[str], str]


def _langdetect(languages: tuple[str, ...] | None) -> Detector:
    factory = DetectorFactory()
    factory.seed = 0
    profiles = Path(detector_factory.PROFILES_DIRECTORY)
    names = languages or tuple(sorted(p.name for p in profiles.iterdir()))
    factory.load_json_profile([(profiles / name).read_text(encoding="utf-8") for name in names])

    def run(text: str) -> str:
        detector = factory.create()
        detector.append(text)
        try:
            return str(detector.detect())
        except LangDetectException:
            return "und"

    return run


def _lingua() -> Detector:
    model = LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.FRENCH).build()
    names = {Language.ENGLISH: "en", Language.FRENCH: "fr"}

    def run(text: str) -> str:
        language = model.detect_language_of(text)
        return names.get(language, "und") if language is not None else "und"

    return run


def _ours(text: str) -> str:
    return detect(text).language


def _ours_forced(text: str) -> str:
    """Our likelier language even below the `und` threshold: the scorer without the policy."""
    scores = detect(text).scores
    if scores["en"] == scores["fr"]:
        return "und"
    return "en" if scores["en"] > scores["fr"] else "fr"


def _measure(run: Detector, samples: list[Sample]) -> tuple[list[str], float]:
    start = time.perf_counter()
    answers = [run(sample.text) for sample in samples]
    return answers, len(samples) / (time.perf_counter() - start)


def _accuracy(samples: list[Sample], answers: list[str]) -> dict[str, float]:
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for sample, answer in zip(samples, answers, strict=True):
        groups = (
            ("clean", f"clean:{sample.bucket}")
            if sample.split == "clean"
            else ("hard", f"hard:{sample.split}")
        )
        for group in groups:
            total[group] += 1
            right[group] += answer == sample.lang
    order = ["clean", *(f"clean:{b}" for b in BUCKETS), "hard", *(f"hard:{k}" for k in HARD_KINDS)]
    return {g: round(100.0 * right[g] / total[g], 2) for g in order if total[g]}


def _fresh_process_answers(texts: list[str]) -> list[str]:
    code = (
        "import json, sys\n"
        "from services.translation.detection.detector import detect\n"
        "texts = json.load(sys.stdin)\n"
        "print(json.dumps([detect(t).language for t in texts]))\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="4242", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    answers: list[str] = json.loads(result.stdout)
    return answers


def main() -> None:
    """Build the set, run every detector on it and print the figures, JSON last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a sample that runs within a minute")
    parser.add_argument("--part", choices=("dev", "test", "all"), default="test")
    parser.add_argument("--locale-dir", type=Path, default=None)
    args = parser.parse_args()

    try:
        pairs = load_pairs(args.locale_dir) if args.locale_dir else load_pairs()
    except DataMissingError as error:
        sys.exit(f"bench/langid.py: {error}")
    clean = clean_samples(pairs, args.part)
    hard = hard_samples(pairs, args.part, 300 if args.quick else 2000)
    if args.quick:
        clean = random.Random(1).sample(clean, 5000)
    samples = clean + hard
    texts = [s.text for s in samples]
    print(f"texts: {len(clean)} clean, {len(hard)} hard (part {args.part})")
    print("clean per bucket:", dict(sorted(Counter(s.bucket for s in clean).items())))

    warm_up()
    detectors: dict[str, Detector] = {
        "ours": _ours,
        "ours_forced": _ours_forced,
        "langdetect_all": _langdetect(None),
        "langdetect_enfr": _langdetect(("en", "fr")),
        "lingua_enfr": _lingua(),
    }
    figures: dict[str, dict[str, float]] = {}
    answers: dict[str, list[str]] = {}
    for name, run in detectors.items():
        answers[name], speed = _measure(run, samples)
        figures[name] = _accuracy(samples, answers[name]) | {"texts_per_s": round(speed)}
        figures[name]["und_pct"] = round(100.0 * answers[name].count("und") / len(samples), 2)

    second, _ = _measure(_ours, samples)
    probe = texts[:: max(1, len(texts) // 1500)]
    fresh = _fresh_process_answers(probe)
    expected = [detect(t).language for t in probe]
    deterministic = second == answers["ours"] and fresh == expected

    columns = list(figures)
    rows = [k for k in figures["ours"] if k not in ("texts_per_s",)] + ["texts_per_s"]
    print(f"{'':24}" + "".join(f"{c:>17}" for c in columns))
    for row in rows:
        cells = "".join(f"{figures[c].get(row, float('nan')):>17.2f}" for c in columns)
        print(f"{row:24}{cells}")
    print(f"identical answers on a second pass and in a fresh process: {deterministic}")
    print(
        json.dumps(
            {
                "part": args.part,
                "quick": args.quick,
                "texts": {"clean": len(clean), "hard": len(hard)},
                "identical_runs": deterministic,
                "detectors": figures,
            },
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()
