"""The numbers check: each number in an answer comes from this run's tool results or from
the user's question, with its unit and its scale.

`check_numbers(text, evidence, question)` reads every number the answer mentions (sign,
currency, scale word, unit, per-period cue), traces it to ONE evidence value of a kind it
may be, and takes out what it cannot trace. `number_mentions(text)` is the reader alone.

Claims and non-claims
- Checked: money ($, US$, €, £, ¥, USD, dollars), percentages (%, percent, pp), durations
  (ms to weeks, months, years; "5-minute"), tokens, counts ("20,000 requests"), multipliers
  (2×, 2x, 2.5 times) and plain numbers, with their signs, separators, decimals and scale
  words (k, K, M, mn, bn, thousand, million, billion). Small integers too: "7 models" is a
  claim. A range's lower end takes its upper end's unit ("40-60%").
- Not checked, because these numbers quote or label something and do not measure it:
  code (fenced blocks, inline code): it quotes the SQL a tool ran or config to paste, so
  its numbers (LIMIT 10, max_tokens: 512) are parameters, not findings, and cutting a
  line out of a query would break it. Also link targets, URLs, footnote markers, list
  markers and heading numbers ("1." at a line start, "## 2. Caching"), dates and times
  (2026-11-03, Nov 3, 10:00, 10am, 14 UTC, bare years 1900-2099, "week 49", W49,
  "12 months"), names holding digits (gpt-4o-mini, claude-3-5-sonnet, gpt-4.1, o3, p95,
  "Claude 3.5 Sonnet", "Gemini 1.5 Pro"), versions (v1.2, 1.2.3), ordinals (95th),
  labels ("#2", "step 2", "tier 1", "HTTP 429"), denominators ("per 1M tokens", "/1K
  requests": they name the unit of the price before them, and that price is checked), and
  "top N" / "N steps" (points, actions, ...) when N is at most the longest list or table
  in the answer: that N counts what the reader can see, not the data. Numbers written as
  words ("three") are not read.

Traced
- A mention traces one value of its kind, after its scale (and in seconds for durations):
  money traces money keys (`*usd*`, cost, spend, savings, price, `*_per_mtok`; another
  currency only its own keys), percentages pct keys and share/rate/ratio values (a fraction
  of 1 or less ×100), durations `*_ms`, `*_s`, `*_days`, latency, ttft keys (ms, s,
  minutes, hours, days are one scale), tokens token keys, counts count-like keys and list
  lengths, multipliers ratio-like keys. A count never traces money, money never a count.
- A value under a key that names no kind inherits its parent's (`{"cost_usd": {"gpt-4o":
  12}}`); a table `{columns, rows}` (the `query` tool) keys each cell by its column. A
  value that still has no kind (the model's own SQL alias, `AS total`) is unit-less: it
  traces a mention of any unit at the mention's scale (counts and tokens: integers only).
  A plain number traces any value. Strings are read like the answer, so "$3,900.00 spent"
  is money; ids, timestamps, hashes and SQL/code strings are not evidence.
- Equal means within the rounding the text shows: "$3,876" is 3,876 ± 0.5, "$3.9k" is
  3,900 ± 50, "12.3%" is 12.3 ± 0.05. After a hedge ("about", "~", "over") the trailing
  zeros of an integer are rounding too ("about $20,000" is 20,000 ± 5,000).
- One-value derivations: a monthly value ×12 when the text says yearly (a year, annual,
  annually, per year), yearly ÷12 for monthly, monthly ÷30 for per day, daily ×30 for per
  month. A value whose key names a period does not equal a mention of another period.
- Signs are ignored (the words carry the direction: tools report savings as positives,
  the text may say "−$3,900/month").
- A number in the question is the user's own: it traces a mention of its unit, and a
  plain number there traces a mention of any unit.

Removed
- The sentence holding an untraced number, with any traced numbers in it: a sentence is
  the smallest unit that still reads. A list item, paragraph or quote left with no words
  is removed whole, a list item with its nested items; so is one whose emphasis or code
  marks would be left unbalanced. A heading or table row holding one is removed whole:
  a row is a record, and a blank cell would read as zero or unknown. A table left with no
  rows, or whose header held one, goes entirely, as does a heading whose section became
  empty; an ordered list that lost items is renumbered. Blank lines the removals leave are
  collapsed; code blocks are never touched. No number is rewritten in place.
- `Checked.unverified` lists the untraced mentions as written ("$20,000 a year").
"""

from __future__ import annotations

from netra.agents.numbers._check import Checked, check_numbers
from netra.agents.numbers._markdown import number_mentions
from netra.agents.numbers._mentions import Mention

__all__ = ["Checked", "Mention", "check_numbers", "number_mentions"]
