"""`make audit` (scripts/audit.py): every package checked, or a plain failure; never the
silent pass pip-audit gives when its vulnerability service answers for nothing."""

from __future__ import annotations

import pytest
from scripts import audit

CLEAN = {"name": "fastapi", "version": "0.165.0", "vulns": []}
SKIPPED = {"name": "httpx", "skip_reason": "Dependency not found on PyPI and could not be "
           "audited: httpx (0.29.0)"}


def test_a_service_that_answered_for_nothing_is_not_a_pass(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert audit._report([SKIPPED, {**SKIPPED, "name": "rich"}]) == 2
    said = capsys.readouterr().err
    assert "could not reach the vulnerability database" in said and "NOT a pass" in said


def test_vulnerabilities_fail_with_their_ids(capsys: pytest.CaptureFixture[str]) -> None:
    vulnerable = {"name": "jinja2", "version": "3.1.2",
                  "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["3.1.3"]}]}
    assert audit._report([CLEAN, vulnerable]) == 1
    assert "jinja2 3.1.2: GHSA-xxxx (fixed in 3.1.3)" in capsys.readouterr().out


def test_unchecked_packages_fail_and_a_clean_audit_passes() -> None:
    assert audit._report([CLEAN, SKIPPED]) == 3
    assert audit._report([CLEAN]) == 0


def test_an_unreachable_service_is_said_plainly(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # Every request goes through a proxy nothing listens at: no database can be reached.
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert audit.main([]) == 2
    said = capsys.readouterr().err
    assert "could not reach the vulnerability database" in said and "NOT a pass" in said
