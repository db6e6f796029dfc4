"""Every documented operation, fed input generated from the OpenAPI document by schemathesis,
answers without a server error: whatever a client sends, bad input is a 4xx, never a 500.

The product runs as an operator runs it (`inbox serve`, real HTTP) with an admin token, on the
run's backend. Generation is derandomized, so a run is repeatable and a failure reproducible.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.result import Ok

from tests.support.processes import clean_environment, free_port, run_cli, serving

EXAMPLES_PER_OPERATION = 6
#: Left out, each for its own reason: an agent's event stream never ends; `/metrics` is text for
#: Prometheus; machine translation answers 501 by design when no provider is configured; a
#: quarantined email's repaired copy is message/rfc822, which schemathesis cannot generate.
LEFT_OUT = re.compile(
    r"^GET .*/events$|^GET /metrics$|^POST /translation/v1/translate$"
    r"|^POST .*/quarantine/.*/release$"
)


def test_no_operation_answers_with_a_server_error(db_url: str, tmp_path: Path) -> None:
    env = clean_environment(DATABASE_URL=db_url, DATA_DIR=str(tmp_path / "data"))
    failures: list[str] = []
    tried: list[str] = []
    with serving(port=free_port(), env=env) as url:
        admin = run_cli("token", "create", "--role", "admin", env=env).stdout.strip()
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):
                failures.append(f"unreadable operation: {result.err()}")
                continue
            operation = result.ok()
            if LEFT_OUT.search(operation.label):
                continue
            tried.append(operation.label)

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def call(case: Any) -> None:
                answer = case.call(headers={"Authorization": f"Bearer {admin}"}, timeout=30)
                assert answer.status_code < 500, (
                    f"{case.method} {case.formatted_path} {case.query} {case.body!r}: "
                    f"{answer.status_code} {answer.text[:300]}"
                )

            try:
                call()
            except AssertionError as failure:
                failures.append(f"{operation.label}: {failure}")

    assert len(tried) > 50  # the document was read and nearly every operation exercised
    assert failures == []
