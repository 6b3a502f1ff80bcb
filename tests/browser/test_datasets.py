"""Datasets in the browser: an upload with a progress bar and its rejected lines listed,
and the dataset picker deciding which data a thread's question uses."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import BrowserContext, expect

from tests.browser.app_page import ask, open_screen, run_id_of, wait_finished, wait_live
from tests.browser.conftest import api_signup, signed_in_tab
from tests.e2e.server import Server

GOOD = "2026-11-0{day}T10:00:00Z,openai,gpt-4o,{tokens},50,support-chat"
# (line number in the file, the row): the header is line 1.
BAD = {
    3: "2026-11-02T10:00:00Z,openai,gpt-4o,-5,50,support-chat",
    5: "not-a-time,openai,gpt-4o,100,50,support-chat",
    6: "2026-11-03T10:00:00Z,openai,gpt-4o,lots,50,support-chat",
}


def telemetry_file(folder: Path) -> Path:
    lines = ["ts,provider,model,input_tokens,output_tokens,feature"]
    for number in range(2, 10):
        lines.append(BAD.get(number) or GOOD.format(day=number, tokens=100 * number))
    path = folder / "usage.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


# Records every value the progress bar shows and whether it was ever on screen.
WATCH_PROGRESS = """() => {
  const bar = document.getElementById('upload-progress');
  window.progressSeen = {shown: false, values: []};
  new MutationObserver(() => {
    if (!bar.hidden) window.progressSeen.shown = true;
    window.progressSeen.values.push(Number(bar.value));
  }).observe(bar, {attributes: true});
}"""


def test_upload_lists_rejected_lines(
    context: BrowserContext, server: Server, tmp_path: Path
) -> None:
    user = api_signup(server.base_url, "upload")
    tab = signed_in_tab(context, user)
    page = tab.page
    wait_live(page)
    open_screen(page, "Datasets")
    page.evaluate(WATCH_PROGRESS)
    page.get_by_label("Telemetry file").set_input_files(telemetry_file(tmp_path))
    page.locator("#upload-name").fill("November usage")
    page.get_by_role("button", name="Upload", exact=True).click()

    status = page.locator("#upload-status")
    expect(status).to_contain_text("November usage: 5 rows imported, 3 rejected")
    rows = page.locator("#rejects-body tr")
    expect(rows.locator("td:first-child")).to_have_text([str(n) for n in BAD])
    for reason in rows.locator("td:nth-child(2)").all_text_contents():
        assert reason.strip(), "a rejected line without its reason"
    expect(page.locator("#rejects-title")).to_have_text("Rejected lines (3)")
    seen = page.evaluate("window.progressSeen")
    assert seen["shown"] and seen["values"][-1] == 1, seen
    expect(page.locator("#upload-progress")).to_be_hidden()
    listed = page.locator("#dataset-list tr")
    expect(listed).to_have_count(1)
    expect(listed.locator("td").nth(0)).to_have_text("November usage")
    expect(listed.locator("td").nth(1)).to_have_text("5")
    expect(listed.locator("td").nth(2)).to_have_text("3")
    [stored] = user.get("/api/datasets")
    assert (stored["rows"], stored["rejected_rows"]) == (5, 3)
    assert tab.errors == []


def test_an_unreadable_upload_is_explained(
    context: BrowserContext, server: Server, tmp_path: Path
) -> None:
    tab = signed_in_tab(context, api_signup(server.base_url, "upload"))
    page = tab.page
    open_screen(page, "Datasets")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    page.get_by_label("Telemetry file").set_input_files(empty)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-status")).to_contain_text("Upload failed: ")
    # Said once, beside the upload, in words with what to do: no toast repeating it.
    expect(page.locator("#upload-status")).to_have_text(
        "Upload failed: The file is empty. Choose a file with a header line and data rows.")
    expect(page.locator(".toast")).to_have_count(0)


FIXTURES = Path(__file__).resolve().parents[1] / "telemetry" / "fixtures"
LANGFUSE_V1 = FIXTURES / "langfuse" / "observations-v1.json"


def test_the_upload_report_says_what_the_file_lacks(
    context: BrowserContext, server: Server
) -> None:
    user = api_signup(server.base_url, "report")
    tab = signed_in_tab(context, user)
    page = tab.page
    open_screen(page, "Datasets")
    page.get_by_label("Telemetry file").set_input_files(LANGFUSE_V1)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-status")).to_contain_text("rows imported")
    [stored] = user.get("/api/datasets")
    assert stored["format"] == "langfuse-observations"
    report = page.locator("#upload-report")
    expect(report).to_be_visible()
    expect(report.locator(".report-notes")).to_contain_text("4 failed calls without token usage")
    expect(report.locator(".report-fields summary")).to_contain_text("end_user")
    expect(report.locator(".report-fields")).to_contain_text("end user not in this export")
    assert tab.errors == []


def test_the_thread_uses_the_picked_dataset(context: BrowserContext, server: Server) -> None:
    user = api_signup(server.base_url, "picker")
    older = user.post("/api/datasets/demo", {"rows": 500, "seed": 1})
    newer = user.post("/api/datasets/demo", {"rows": 600, "seed": 2})
    tab = signed_in_tab(context, user)
    page = tab.page
    wait_live(page)
    picker = page.get_by_label("Dataset", exact=True)
    expect(picker).to_have_value(newer["id"])  # the newest by default
    picker.select_option(older["id"])
    turn = ask(page, "What does our traffic cost by model?")
    wait_finished(turn)
    run = user.get(f"/api/runs/{run_id_of(turn)}")
    events = user.get(f"/api/runs/{run['id']}/events")
    assert events[-1]["payload"]["report"]["dataset_id"] == older["id"]
    page.reload()
    expect(page.get_by_label("Dataset", exact=True)).to_have_value(older["id"])
    assert tab.errors == []
