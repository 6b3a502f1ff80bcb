"""Auth request and response bodies (PROTOCOL.md, Auth)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from netra.db.base import isoformat_z

UtcTime = Annotated[datetime, PlainSerializer(isoformat_z, return_type=str)]

# Bounds that stop oversized input before it costs anything; the real rules (email
# syntax, minimum password length) live in the service so every caller gets them.
Email = Annotated[str, Field(max_length=320)]
Password = Annotated[str, Field(max_length=1024)]
OpaqueToken = Annotated[str, Field(max_length=512)]


class User(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str
    created_at: UtcTime


class Signup(BaseModel):
    email: Email
    password: Password
    name: Annotated[str | None, Field(max_length=200)] = None


class Login(BaseModel):
    email: Email
    password: Password


class PasswordChange(BaseModel):
    current_password: Password
    new_password: Password


class RefreshTokenBody(BaseModel):
    refresh_token: OpaqueToken


class AuthTokens(BaseModel):
    user: User
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="access token lifetime in seconds")


class WsTicket(BaseModel):
    ticket: str
    expires_in: int


class ApiKeyCreate(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]


class ApiKey(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    created_at: UtcTime
    last_used_at: UtcTime | None = None


class ApiKeyCreated(ApiKey):
    key: str = Field(description="shown only in this response; store it now")


class OidcProvider(BaseModel):
    name: str
    label: str = Field(description='the button reads "Sign in with <label>"')
    login_url: str = Field(description="where the button sends the browser")


class SsoCode(BaseModel):
    code: OpaqueToken = Field(description="the one-time code the callback put in the app's URL")
