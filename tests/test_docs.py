"""Every ```python block of docs/*.md and README.md runs, so the documentation cannot go
stale. Each file's blocks run in order in one namespace (later blocks use earlier names), in a
temporary folder (blocks may write files). A block preceded by the HTML comment
<!-- skip-test --> (which a code host does not show) is not run: for things that need more
than the test environment has, such as a picture rendered by Graphviz."""

from __future__ import annotations

import inspect
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")
SKIP_MARK = re.compile(r"^\s*<!--\s*skip-test\s*-->\s*$")
PYTHON = {"python", "py", "python3"}


@dataclass
class Snippet:
    source: str
    line: int  # of the first line of code, counting from 1
    skipped: bool


def snippets(markdown: str) -> list[Snippet]:
    """The fenced code blocks marked python, with the line each starts on. A block is skipped
    when the nearest non-blank line above its opening fence is <!-- skip-test -->."""
    lines = markdown.splitlines()
    found = []
    k = 0
    while k < len(lines):
        opening = FENCE.match(lines[k])
        if not opening:
            k += 1
            continue
        fence = opening.group("fence")
        end = k + 1
        while end < len(lines) and not (
            lines[end].strip().startswith(fence[0] * len(fence))
            and lines[end].strip().strip(fence[0]) == ""
        ):
            end += 1
        if opening.group("info").lower() in PYTHON:
            above = k - 1
            while above >= 0 and not lines[above].strip():
                above -= 1
            skipped = above >= 0 and bool(SKIP_MARK.match(lines[above]))
            indent = len(opening.group("indent"))
            body = [
                line[indent:] if line[:indent].isspace() else line for line in lines[k + 1 : end]
            ]
            found.append(Snippet("\n".join(body) + "\n", k + 2, skipped))
        k = end + 1
    return found


def run_document(path: Path, namespace: dict[str, object] | None = None) -> int:
    """Run the python blocks of one Markdown file in order (in `namespace`, a fresh one by
    default); returns how many ran."""
    namespace = {"__name__": "__docs__"} if namespace is None else namespace
    ran = 0
    for snippet in snippets(path.read_text(encoding="utf-8")):
        if snippet.skipped:
            continue
        # Leading newlines make tracebacks point at the right line of the Markdown file.
        code = compile("\n" * (snippet.line - 1) + snippet.source, str(path), "exec")
        exec(code, namespace)
        ran += 1
    return ran


@pytest.fixture(autouse=True)
def in_a_scratch_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")  # a block that plots must not open a window


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: os.path.relpath(p, ROOT))
def test_every_python_block_runs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path.name} does not exist")
    if not [s for s in snippets(path.read_text(encoding="utf-8")) if not s.skipped]:
        pytest.skip(f"{path.name} has no python blocks to run")
    assert run_document(path) > 0


def test_the_tour_exists_and_has_blocks_for_each_part() -> None:
    tour = (ROOT / "docs" / "tour.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", tour, flags=re.MULTILINE)
    assert len(headings) >= 5
    assert len([s for s in snippets(tour) if not s.skipped]) >= len(headings)


def test_the_tour_shows_the_backward_loop_as_the_engine_has_it() -> None:
    """The loop quoted in the tour is the engine's, line for line."""
    from tinygrad_lr.autograd import engine

    tour = (ROOT / "docs" / "tour.md").read_text(encoding="utf-8")
    quoted = re.search(r"```text\n(    pending: Pending = \{\}.*?)\n```", tour, flags=re.DOTALL)
    assert quoted is not None, "the tour no longer quotes the backward loop"
    source = inspect.getsource(engine.backward_pass)
    assert quoted.group(1) in source


# --- the runner itself ------------------------------------------------------------------------

SAMPLE = """\
# Title

```python
x = 1
```

Some text.

<!-- skip-test -->
```python
raise SystemExit("must not run")
```

```sh
echo not python
```

~~~py
y = x + 1
~~~

- a list item with code:

  ```python
  z = y * 2
  ```

````python
s = '''
```
'''
````
"""


def test_blocks_are_found_with_their_lines_and_skip_marks() -> None:
    found = snippets(SAMPLE)
    assert [s.source for s in found] == [
        "x = 1\n",
        'raise SystemExit("must not run")\n',
        "y = x + 1\n",
        "z = y * 2\n",
        "s = '''\n```\n'''\n",
    ]
    assert [s.skipped for s in found] == [False, True, False, False, False]
    lines = SAMPLE.splitlines()
    for snippet in found:
        assert lines[snippet.line - 1].strip() == snippet.source.splitlines()[0].strip()


def test_blocks_share_one_namespace_and_skipped_ones_do_not_run(tmp_path) -> None:
    path = tmp_path / "sample.md"
    path.write_text(SAMPLE + "\n```python\nassert z == 4\n```\n")
    assert run_document(path) == 5


def test_a_failing_block_points_at_its_line_in_the_markdown(tmp_path) -> None:
    path = tmp_path / "broken.md"
    path.write_text("# Broken\n\ntext\n\n```python\na = 1\nb = a / 0\n```\n")
    with pytest.raises(ZeroDivisionError) as caught:
        run_document(path)
    frame = caught.traceback[-1]
    assert Path(str(frame.path)) == path and frame.lineno + 1 == 7


def test_the_tour_shows_the_code_tl_compile_generates_for_its_step(tmp_path) -> None:
    """The generated code quoted in the tour is what `train_step.code` holds after the tour's
    blocks ran (the line numbers in its comments aside, which move when the tour is edited)."""
    namespace: dict[str, object] = {"__name__": "__docs__"}
    run_document(ROOT / "docs" / "tour.md", namespace)
    tour = (ROOT / "docs" / "tour.md").read_text(encoding="utf-8")
    quoted = re.search(r"`train_step\.code` is .*?```text\n(.*?)```", tour, flags=re.DOTALL)
    assert quoted is not None, "the tour no longer quotes the generated code"

    def without_line_numbers(code: str) -> str:
        return re.sub(r"tour\.md:\d+", "tour.md", code).strip()

    code = namespace["train_step"].code  # type: ignore[attr-defined]
    assert without_line_numbers(quoted.group(1)) == without_line_numbers(code)
