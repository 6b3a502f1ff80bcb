"""Answers rendered for the page: Markdown as HTML, and nothing from the data as a link,
an image or markup."""

from __future__ import annotations

from netra.web.markdown import render_markdown


def test_links_from_data_render_as_their_text() -> None:
    html = render_markdown("Feature [click](https://evil.example) costs most; "
                           "<https://evil.example/auto> too; [rel](/api/docs)")
    assert "<a" not in html and "href" not in html
    assert "click" in html and "rel" in html
    assert "evil.example/auto" in html  # an autolink stays visible, as text


def test_images_from_data_render_as_their_alt_text() -> None:
    html = render_markdown("| feature | cost |\n|---|---:|\n"
                           "| ![x **y**](https://evil.example/b.png) | $1.00 |")
    assert "<img" not in html and "evil.example" not in html
    assert "<td>x y</td>" in html


def test_raw_html_is_text_and_the_output_is_sanitised() -> None:
    html = render_markdown('<script>alert(1)</script> <img src=x onerror=alert(1)> '
                           "[x](javascript:alert(1))")
    assert "<script" not in html and "<img" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;" in html


def test_what_answers_use_still_renders() -> None:
    html = render_markdown("## Findings\n\n1. **Move** `triage` to *mini*\n\n"
                           "| model | spend |\n|:---|---:|\n| gpt-4o | $3,900.00 |\n\n"
                           "```yaml\nmodel_list: []\n```\n\n> note")
    for fragment in ("<h2>Findings</h2>", "<ol>", "<strong>Move</strong>", "<code>triage</code>",
                     "<em>mini</em>", '<th class="align-left">model</th>',
                     '<td class="align-right">$3,900.00</td>', "<pre><code>model_list: []",
                     "<blockquote>"):
        assert fragment in html, (fragment, html)
    assert "style=" not in html  # the page's CSP allows no inline style attributes
