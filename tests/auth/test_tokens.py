from datetime import timedelta

import jwt
import pytest
from pydantic import SecretStr

from netra.auth.tokens import (
    InvalidToken,
    create_access_token,
    decode_access_token,
    digest,
    is_api_key,
    new_api_key,
    new_refresh_token,
)
from netra.db.base import utcnow

from .helpers import SETTINGS

SECRET = SETTINGS.secret_key.get_secret_value()


def _claims(**overrides: object) -> dict[str, object]:
    now = int(utcnow().timestamp())
    return {"sub": "user-1", "sid": "login-1", "iat": now, "exp": now + 60, "type": "access",
            **overrides}


def test_access_token_round_trips_to_its_user() -> None:
    token = create_access_token(SETTINGS, "user-1", "login-1")

    assert decode_access_token(SETTINGS, token) == ("user-1", "login-1", False)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == SETTINGS.access_token_ttl_s
    assert claims["type"] == "access"
    assert claims["amr"] == ["pwd"]
    sso = create_access_token(SETTINGS, "user-1", "login-1", via_sso=True)
    assert decode_access_token(SETTINGS, sso).via_sso is True


def test_expired_access_token_is_refused() -> None:
    issued = utcnow() - timedelta(seconds=SETTINGS.access_token_ttl_s + 1)
    token = create_access_token(SETTINGS, "user-1", "login-1", now=issued)

    with pytest.raises(InvalidToken):
        decode_access_token(SETTINGS, token)


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode(_claims(), "another-secret-that-is-long-enough!", algorithm="HS256"),
        jwt.encode(_claims(type="refresh"), SECRET, algorithm="HS256"),
        jwt.encode({k: v for k, v in _claims().items() if k != "type"}, SECRET, "HS256"),
        jwt.encode({k: v for k, v in _claims().items() if k != "exp"}, SECRET, "HS256"),
        jwt.encode({k: v for k, v in _claims().items() if k != "sid"}, SECRET, "HS256"),
        jwt.encode(_claims(), None, algorithm="none"),
        "not.a.jwt",
        "",
    ],
    ids=["forged", "wrong-type", "no-type", "no-exp", "no-login", "alg-none", "garbage",
         "empty"],
)
def test_invalid_access_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken) as caught:
        decode_access_token(SETTINGS, token)

    assert caught.value.status == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_signed_before_a_secret_rotation_is_refused() -> None:
    token = create_access_token(SETTINGS, "user-1", "login-1")
    rotated = SETTINGS.model_copy(update={"secret_key": SecretStr("r" * 40)})

    with pytest.raises(InvalidToken):
        decode_access_token(rotated, token)


def test_secrets_are_random_and_stored_as_sha256() -> None:
    key = new_api_key()

    assert is_api_key(key)
    assert not is_api_key(new_refresh_token())
    assert new_refresh_token() != new_refresh_token()
    assert digest(key) == digest(key)
    assert len(digest(key)) == 64
    assert digest(key) != digest(new_api_key())
