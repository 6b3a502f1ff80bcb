"""NETRA_OIDC_PROVIDERS: read from the environment as JSON, checked everywhere, and held
to production's rules; a broken entry is one line of the report, its secret never shown."""

from __future__ import annotations

import json

import pytest

from netra.settings import Settings, SettingsError, load_settings

SECRET = "s3cret-value-never-shown"
GOOD = {"name": "google", "label": "Google", "issuer": "https://accounts.google.com",
        "client_id": "netra-app", "client_secret": SECRET}
PRODUCTION = {"env": "production", "secret_key": "y" * 32,
              "public_url": "https://netra.example.com"}


def problems(**overrides: object) -> list[str]:
    with pytest.raises(SettingsError) as error:
        load_settings(**overrides)
    assert SECRET not in str(error.value)
    return error.value.problems


def test_providers_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    second = {**GOOD, "name": "corp", "label": "Corp", "issuer": "https://id.corp.example/",
              "scopes": ["openid", "email"]}
    monkeypatch.setenv("NETRA_OIDC_PROVIDERS", json.dumps([GOOD, second]))
    providers = Settings().oidc_providers
    assert [(p.name, p.label, p.issuer) for p in providers] == [
        ("google", "Google", "https://accounts.google.com"),
        ("corp", "Corp", "https://id.corp.example/")]
    assert providers[0].scopes == ["openid", "email", "profile"]
    assert providers[0].client_secret.get_secret_value() == SECRET
    monkeypatch.setenv("NETRA_OIDC_PROVIDERS", "")
    assert Settings().oidc_providers == []


@pytest.mark.parametrize(("value", "says"), [
    ('[{"name": "google", "client_secret": "' + SECRET + '"', "not valid JSON"),
    (json.dumps([{**GOOD, "issuer": "ftp://accounts.google.com"}]), "http(s) URL"),
    (json.dumps([{**GOOD, "name": "Google Accounts"}]), "pattern"),
    (json.dumps([{**GOOD, "scopes": ["email"]}]), "must include openid"),
    (json.dumps([{**GOOD, "client-secret": SECRET}]), "Extra inputs"),
    (json.dumps([GOOD, GOOD]), "unique: google repeated"),
])
def test_an_invalid_provider_is_one_clear_problem(value: str, says: str) -> None:
    found = problems(oidc_providers=value)
    assert len(found) == 1 and found[0].startswith("NETRA_OIDC_PROVIDERS"), found
    assert says in found[0]


def test_production_refuses_http_issuers_and_empty_secrets() -> None:
    weak = {**GOOD, "issuer": "http://id.example.com", "client_secret": ""}
    found = problems(**PRODUCTION, oidc_providers=json.dumps([weak]))
    assert found == [
        "NETRA_OIDC_PROVIDERS (google): the issuer must be https in production "
        "(got http://id.example.com)",
        "NETRA_OIDC_PROVIDERS (google): client_secret is empty; production signs in as a "
        "confidential client"]
    assert load_settings(env="test", oidc_providers=json.dumps([weak])).oidc_providers


def test_production_needs_the_public_url_for_the_redirect_uri() -> None:
    without = {**PRODUCTION, "public_url": None}
    found = problems(**without, oidc_providers=json.dumps([GOOD]))
    assert found == ["NETRA_PUBLIC_URL: required with NETRA_OIDC_PROVIDERS in production: "
                     "the redirect URI registered with each provider is built from it"]
    assert load_settings(**PRODUCTION, oidc_providers=json.dumps([GOOD])).oidc_providers
