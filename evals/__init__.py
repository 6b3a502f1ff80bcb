"""Answer-quality evals: real questions asked of a real `netra serve` over the WebSocket,
each answer graded against facts computed independently from the same demo dataset.

`python -m evals --mode scripted|offline|endpoint` (see `evals.__main__`).
"""
