"""The OpenAPI document is true to the server: schemathesis, seeded and bounded, sends
generated requests to every operation of a real server and checks that none answers a
server error, and that statuses, media types, headers and bodies are the documented ones.

Response times are not checked (tests never assert wall-clock times), and two checks are
left out because the schema cannot say what they need:
`positive_data_acceptance` (a well-formed email address whose domain cannot receive
mail, or a model the dataset does not hold, are valid JSON and still a 422) and
`negative_data_rejection` (pydantic accepts `0` for `false` and `"12"` for 12 on
purpose: gateways send numbers as strings).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from netra.openapi import complete
from tests.e2e.server import running_server

SEED = "20261204"
EXAMPLES = "20"  # per operation and phase: the run takes about a minute
CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance", "missing_required_header",
    "unsupported_method", "allow_header_conformance", "use_after_free",
    "ensure_resource_availability", "ignored_auth",
])


def test_generated_requests_get_documented_answers_and_no_server_error(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as server:
        signed_up = httpx.post(f"{server.base_url}/api/auth/signup", timeout=30, json={
            "email": "fuzz@example.com", "password": "correct horse battery"})
        token = signed_up.json()["access_token"]
        done = subprocess.run(
            [str(Path(sys.executable).parent / "st"), "run",
             f"{server.base_url}/api/openapi.json", "--header", f"Authorization: Bearer {token}",
             "--checks", CHECKS, "--max-examples", EXAMPLES,
             "--seed", SEED, "--generation-database", "none", "--no-color",
             "--request-timeout", "30"],
            capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path)
        log = server.log()
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-3000:]
    assert "Traceback" not in log, log[-5000:]


def test_every_error_is_documented_in_the_envelope() -> None:
    document = complete({"paths": {
        "/api/threads/{thread_id}": {"delete": {"security": [{"HTTPBearer": []}],
                                                "responses": {"204": {}}}},
        "/api/auth/login": {"post": {"responses": {"200": {}}}},
        "/metrics": {"get": {"responses": {"200": {}}}},
    }})
    paths = document["paths"]
    assert set(paths["/api/threads/{thread_id}"]["delete"]["responses"]) == {"204", "401", "404"}
    assert set(paths["/api/auth/login"]["post"]["responses"]) == {
        "200", "400", "401", "413", "422", "429"}
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    error = paths["/api/auth/login"]["post"]["responses"]["429"]["content"]["application/json"]
    assert error["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
