import pytest

from netra.auth.passwords import (
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_against_dummy,
    verify_password,
)
from netra.errors import ValidationFailed


async def test_passwords_are_hashed_with_argon2id() -> None:
    hashed = await hash_password("correct horse battery")

    assert hashed.startswith("$argon2id$")
    assert await verify_password(hashed, "correct horse battery")
    assert not await verify_password(hashed, "correct horse batterY")
    assert not needs_rehash(hashed)


async def test_a_corrupt_hash_never_verifies() -> None:
    assert not await verify_password("not-a-hash", "anything at all")
    await verify_against_dummy("anything at all")  # must not raise either


def test_short_passwords_are_refused() -> None:
    check_password_policy("8 chars!")
    with pytest.raises(ValidationFailed):
        check_password_policy("7 chars")
