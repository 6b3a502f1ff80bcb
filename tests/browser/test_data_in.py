"""Data in without friction, in the browser: the CSV people export (usual column names,
no provider column, two vendors) shows how it will be read before it is uploaded, then
imports priced at each vendor's rates and shows which fields unlock which analyses; a
CSV none of whose rows is usable lists each line and why, and says what to do."""

from __future__ import annotations

from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, expect

from tests.browser.app_page import ask, open_screen, wait_finished, wait_live
from tests.browser.conftest import api_signup, signed_in_tab
from tests.e2e.server import Server

NATURAL_HEADER = "timestamp,model,input_tokens,output_tokens,latency_ms,feature"
ROWS = 40


def natural_csv(folder: Path) -> Path:
    """Rows of gpt-4o and claude-sonnet-4-5 alternating: long prompts and even answers
    (no simple work to move, no runaway output), spread over the hours of two days (no
    scheduled job), no hashes or conversations: thin data, on which no finder acts."""
    lines = [NATURAL_HEADER]
    for i in range(ROWS):
        model = "gpt-4o" if i % 2 else "claude-sonnet-4-5"
        lines.append(f"2026-11-{1 + i // 20:02d}T{(i * 5) % 24:02d}:15:00Z,{model},"
                     f"{6000 + 10 * i},{700 + i},{800 + 7 * i},support-chat")
    path = folder / "usage-export.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def broken_csv(folder: Path) -> Path:
    """No provider column, and models no catalogue knows: no row can be priced or filed."""
    path = folder / "broken.csv"
    path.write_text("timestamp,model,input_tokens,output_tokens\n"
                    "2026-11-01T10:00:00Z,house-model-1,100,10\n"
                    "2026-11-01T10:01:00Z,house-model-2,100,10\n"
                    "2026-11-01T10:02:00Z,house-model-3,100,10\n")
    return path


def test_the_natural_csv_previews_imports_both_vendors_and_shows_what_it_unlocks(
    context: BrowserContext, server: Server, tmp_path: Path
) -> None:
    user = api_signup(server.base_url, "natural")
    tab = signed_in_tab(context, user)
    page = tab.page
    wait_live(page)
    open_screen(page, "Datasets")
    page.get_by_label("Telemetry file").set_input_files(natural_csv(tmp_path))

    # Before Upload: the format, each column's field, the first rows priced per vendor.
    preview = page.locator("#upload-preview")
    expect(preview.locator(".preview-counts")).to_have_text(
        f"Format: records CSV. In this file, {ROWS} rows would be kept.")
    mapping = preview.locator("table.mapping tbody tr")
    expect(mapping).to_have_count(6)
    expect(mapping.nth(0).locator("td")).to_have_text(["timestamp", "ts"])
    expect(mapping.nth(4).locator("td")).to_have_text(["latency_ms", "latency_ms"])
    sample = preview.locator("table.sample tbody tr")
    expect(sample).to_have_count(5)
    expect(sample.nth(0)).to_contain_text("anthropic")
    expect(sample.nth(1)).to_contain_text("openai")
    expect(preview.locator(".report-notes")).to_contain_text(
        "inferred from the model for 40 rows")
    assert page.locator("#dataset-list tr").count() == 0  # nothing imported yet
    tab.screenshot("upload-preview.png")
    found = Axe().run(page)
    assert found.violations_count == 0, found.generate_report()

    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-status")).to_have_text(
        f"usage-export.csv: {ROWS} rows imported, 0 rejected.")
    expect(preview).to_be_hidden()
    report = page.locator("#upload-report")
    expect(report).not_to_contain_text("cost unknown")  # both vendors priced
    unlocks = report.locator("table.unlocks")
    expect(unlocks).to_be_visible()
    feature = unlocks.locator("tr", has=page.locator("code", has_text="feature"))
    expect(feature.locator("td").nth(1)).to_have_text("100%")
    expect(feature.locator("td").nth(2)).to_contain_text("Used for spend and every finding")
    prompt_hash = unlocks.locator("tr", has=page.locator("code", has_text="prompt_hash"))
    expect(prompt_hash.locator("td").nth(1)).to_have_text("0%")
    expect(prompt_hash.locator("td").nth(2)).to_contain_text(
        "Missing: add it to unlock response caching")
    tab.screenshot("upload-unlocks.png")
    found = Axe().run(page)
    assert found.violations_count == 0, found.generate_report()

    [dataset] = user.get("/api/datasets")
    summary = user.get(f"/api/datasets/{dataset['id']}/summary")
    spend = {row["key"]: row["spend_usd"] for row in summary["by_provider"]["rows"]}
    assert set(spend) == {"openai", "anthropic"} and min(spend.values()) > 0, spend
    assert summary["overview"]["unpriced_models"] == []

    # Thin data: the optimisation answer names the missing fields and what they unlock.
    open_screen(page, "Chat")
    turn = ask(page, "How can we reduce our LLM costs?")
    wait_finished(turn)
    answer = turn.locator(".answer")
    expect(answer).to_contain_text("none of the analyses found a saving worth acting on")
    expect(answer).to_contain_text("prompt_hash unlocks response caching")
    expect(answer).to_contain_text("conversation_id unlocks context growth")
    assert tab.errors == []


def test_a_broken_csv_lists_its_lines_and_says_what_to_do(
    context: BrowserContext, server: Server, tmp_path: Path
) -> None:
    tab = signed_in_tab(context, api_signup(server.base_url, "broken"))
    page = tab.page
    open_screen(page, "Datasets")
    page.get_by_label("Telemetry file").set_input_files(broken_csv(tmp_path))
    preview = page.locator("#upload-preview")
    expect(preview.locator(".preview-counts")).to_have_text(
        "Format: records CSV. In this file, 0 rows would be kept and 3 rejected.")
    expect(preview.locator("table.preview-rejects tbody tr")).to_have_count(3)

    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-status")).to_have_text(
        "Upload failed: None of the 3 rows of broken.csv could be imported. Add a provider "
        "column, or choose a default provider for the upload. The rejected lines are listed "
        "below with their reasons.")
    expect(page.locator("#rejects-title")).to_have_text("Rejected lines (3)")
    rows = page.locator("#rejects-body tr")
    expect(rows.locator("td:first-child")).to_have_text(["2", "3", "4"])
    expect(rows.nth(0).locator("td").nth(1)).to_have_text(
        "provider: missing and not recognisable from model 'house-model-1'; add a provider "
        "column or choose a default provider")
    expect(page.locator(".toast")).to_have_count(0)  # said inline, under the form
    # On a phone the preview's and the rejects' tables scroll within the page's width.
    page.set_viewport_size({"width": 360, "height": 780})
    page.wait_for_function("document.documentElement.clientWidth === 360")
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 360, f"the Datasets screen is {wide} px wide at 360 px"

    # Choosing a default provider, as the message says, makes the rows usable.
    page.get_by_label("Default provider").fill("openai")
    expect(preview.locator(".preview-counts")).to_have_text(
        "Format: records CSV. In this file, 3 rows would be kept.")
    # The browser logs the refused upload's 422 itself; nothing else may have failed.
    assert [e for e in tab.errors if "status of 422" not in e] == []
