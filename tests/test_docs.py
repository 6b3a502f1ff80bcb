"""The documents say what the code does: the README's settings table is generated from
`Settings`, docs/protocol.md holds the frames' schemas generated from the code and names
every REST route the app serves."""

from __future__ import annotations

import re
from pathlib import Path

from netra import settings_table
from netra.app import create_app
from netra.realtime import frames
from netra.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PROTOCOL = ROOT / "docs" / "protocol.md"


def test_the_readme_lists_every_setting_as_settings_defines_it() -> None:
    text = README.read_text()
    assert text == settings_table.in_readme(text), (
        "the README's settings table is stale: python -m netra.settings_table --write README.md")
    for name in Settings.model_fields:
        assert f"`NETRA_{name.upper()}`" in text


def test_the_protocol_document_holds_the_frames_schemas_of_the_code() -> None:
    text = PROTOCOL.read_text()
    assert text == frames.in_document(text), (
        "docs/protocol.md is stale: python -m netra.realtime.frames --write docs/protocol.md")


def _as_pattern(path: str) -> str:
    """A route's path as the document may write it: any {name} for a path parameter."""
    return re.escape(re.sub(r"\{[^}]+\}", "{}", path)).replace(r"\{\}", r"\{[a-z_]+\}")


def test_the_protocol_document_names_every_route() -> None:
    text = PROTOCOL.read_text()
    paths = create_app(Settings(env="test")).openapi()["paths"]
    missing = [path for path in paths if not re.search(_as_pattern(path) + r"(?![\w/])", text)]
    assert missing == [], f"routes the protocol document does not name: {missing}"


def test_the_readme_links_only_to_files_in_this_repository() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text()):
        if "://" not in target:
            assert (ROOT / target).exists(), target
            assert not target.startswith("../"), f"{target} is outside the repository"
