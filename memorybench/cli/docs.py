"""Results tables and command help in the docs and the README, copied from their sources instead of typed by
hand: `memorybench docs`.

A docs page asks for a table with a block

    <!-- table: results/nndl-seeds5/report.md, after "### Memory horizon" -->
    | ... rewritten by `memorybench docs` ... |
    <!-- /table -->

naming a markdown file of the repository (a report, the suite's page), the first line of it that
holds the quoted text, and optionally `, nth 2` for the second table after that line. A block
`<!-- help: run -->` ... `<!-- /help -->` holds `memorybench run --help` as the command prints it
(100 columns wide), so the command reference is generated from the parsers themselves. `memorybench
docs` rewrites every block from the file as it is now; `--check` only says which are stale (exit
status 1). A results row typed into a page outside a block (a number with an interval, '0.91 [0.88,
0.95]') is what `hand_typed_rows` finds: the test suite fails on one, so the docs cannot drift from
the results they describe.

Example:
    >>> source = "## A\\n\\n| L | SRN |\\n|---|---|\\n| 5 | 0.9 [0.8, 1.0] |\\n"
    >>> page = '<!-- table: r.md, after "## A" -->\\nold\\n<!-- /table -->\\n'
    >>> print(refresh(page, lambda path: source, "page.md"), end="")
    <!-- table: r.md, after "## A" -->
    | L | SRN |
    |---|---|
    | 5 | 0.9 [0.8, 1.0] |
    <!-- /table -->
    >>> hand_typed_rows("| 5 | 0.9 [0.8, 1.0] |\\n| name | what |\\n")
    [(1, '| 5 | 0.9 [0.8, 1.0] |')]
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable
from pathlib import Path

from memorybench.layers import LAYERS
from memorybench.parser import Parser, folder_path

BLOCK = re.compile(
    r'^<!-- table: (?P<path>[^,\s]+)(?:, after "(?P<after>[^"]+)")?(?:, nth (?P<nth>\d+))? -->\n'
    r"(?P<body>.*?)^<!-- /table -->$",
    re.M | re.S,
)
SUITE_BLOCK = re.compile(
    r"^<!-- suite -->\n.*?^<!-- /suite -->$", re.M | re.S
)  # the README's suite table: `memorybench suite --readme`
RESULT_ROW = re.compile(
    r"\d\s*\[\s*[<≥−+-]?\s*\d"
)  # a number followed by an interval: '0.91 [0.88', '20 [15', 'MC 6.2 [5.0'
REPO_ROOT = Path(__file__).resolve().parents[2]


def tables(text: str) -> list[tuple[int, str]]:
    """(first line index, table text) of each markdown table in `text` (consecutive lines starting with '|')."""
    lines, found, start = text.splitlines(), [], None
    for i, line in enumerate([*text.splitlines(), ""]):
        if line.startswith("|") and start is None:
            start = i
        elif not line.startswith("|") and start is not None:
            found.append((start, "\n".join(lines[start:i])))
            start = None
    return found


def pick_table(text: str, after: str | None, nth: int, where: str) -> str:
    """The `nth` table (1-based) after the first line of `text` holding `after` (from the top without it)."""
    lines = text.splitlines()
    start = 0
    if after is not None:
        start = next((i for i, line in enumerate(lines) if after in line), -1)
        if start < 0:
            raise ValueError(f"{where} has no line holding {after!r}")
    candidates = [table for first, table in tables(text) if first >= start]  # the anchor may be the header row itself
    if len(candidates) < nth:
        raise ValueError(f"{where} has {len(candidates)} table(s) after {after!r}, not {nth}")
    return candidates[nth - 1]


HELP_BLOCK = re.compile(r"^<!-- help: (?P<command>[a-z][a-z -]*?) -->\n(?P<body>.*?)^<!-- /help -->$", re.M | re.S)
HELP_COLUMNS = (
    "100"  # argparse wraps to the terminal's width: fixed, so the generated text does not depend on who runs it
)


def help_text(command: str) -> str:
    """What `memorybench COMMAND --help` prints, 100 columns wide."""
    import contextlib
    import io
    import os

    from memorybench.cli.main import main

    out, previous = io.StringIO(), os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main([*command.split(), "--help"])
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    if not out.getvalue().startswith("usage:"):
        raise ValueError(f"`memorybench {command} --help` printed no usage (is {command!r} a command?)")
    return out.getvalue().rstrip("\n")


GENERATED_BLOCK = re.compile(r"^<!-- generated: (?P<name>[a-z-]+) -->\n(?P<body>.*?)^<!-- /generated -->$", re.M | re.S)
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def first_sentence(path: Path) -> str:
    """The first sentence of a module's docstring, on one line (its first paragraph where no sentence ends)."""
    text = (ast.get_docstring(ast.parse(path.read_text())) or "").split("\n\n")[0].replace("\n", " ")
    end = re.search(r"[.!?](?=\s+[A-Z`(\"]|$)", text)  # not "et al. 2016", "i.i.d. stream"
    return (text[: end.start() + 1] if end else text).replace("|", "\\|")


def layout_markdown() -> str:
    """docs/reference/layout.md's body: the contract's table (`memorybench.layers`), then each part's modules
    with the first sentence of their docstrings."""
    rows = ["| layer | part | holds | torch-free |", "|---|---|---|---|"]
    sections = []
    for i, layer in enumerate(LAYERS):
        for part in layer:
            package = bool(part.name) and (PACKAGE_ROOT / part.name).is_dir()
            name = f"{part.name}/" if package else f"{part.name or '__init__'}.py"
            rows.append(f"| {i} | `{name}` | {part.holds} | {'yes' if part.torch_free else ''} |")
            if package:
                files = sorted((PACKAGE_ROOT / part.name).glob("*.py"))
                lines = [f"- `{f.name}`: {first_sentence(f)}" for f in files if f.name != "__init__.py"]
                sections.append(
                    f"### `{name}` (layer {i})\n\n{first_sentence(PACKAGE_ROOT / part.name / '__init__.py')}\n\n"
                    + "\n".join(lines)
                )
    return "\n".join(rows) + "\n\n" + "\n\n".join(sections)


def api_markdown() -> str:
    """docs/reference/python-api.md's reference: one mkdocstrings entry per name of `memorybench.API`."""
    tree = ast.parse((PACKAGE_ROOT / "__init__.py").read_text())  # read, not imported: the API sits above the CLI
    api = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "API")
    return "\n\n".join(f"::: {module}.{name}" for name, module in api.items())


GENERATORS = {"layout": layout_markdown, "api": api_markdown}  # <!-- generated: NAME --> blocks


def refresh(page: str, read: Callable[[str], str], where: str, helps: bool = True) -> str:
    """`page` with every table block rewritten from its source (`read(path)` gives a source's text) and, with
    `helps`, every help block from its command."""

    def fill(match: re.Match) -> str:
        path, after, nth = match["path"], match["after"], int(match["nth"] or 1)
        try:
            source = read(path)
        except FileNotFoundError:
            raise ValueError(f"{where}: the table block names {path}, which does not exist") from None
        table = pick_table(source, after, nth, f"{where}: {path}")
        return f"{match.group(0).split(chr(10), 1)[0]}\n{table}\n<!-- /table -->"

    def fill_help(match: re.Match) -> str:
        return f"<!-- help: {match['command']} -->\n```\n{help_text(match['command'])}\n```\n<!-- /help -->"

    def fill_generated(match: re.Match) -> str:
        if match["name"] not in GENERATORS:
            raise ValueError(f"{where}: no generator {match['name']!r} (allowed: {', '.join(GENERATORS)})")
        return f"<!-- generated: {match['name']} -->\n{GENERATORS[match['name']]()}\n<!-- /generated -->"

    tables = GENERATED_BLOCK.sub(fill_generated, BLOCK.sub(fill, page))
    return HELP_BLOCK.sub(fill_help, tables) if helps else tables


def hand_typed_rows(page: str) -> list[tuple[int, str]]:
    """(line number, row) of each results row outside the table blocks (and the README's suite block, which
    `memorybench suite --readme` writes): typed by hand, so free to drift."""
    inside = {
        i
        for match in [*BLOCK.finditer(page), *HELP_BLOCK.finditer(page), *SUITE_BLOCK.finditer(page)]
        for i in range(page.count("\n", 0, match.start()), page.count("\n", 0, match.end()) + 1)
    }
    return [
        (i + 1, line)
        for i, line in enumerate(page.splitlines())
        if i not in inside and line.startswith("|") and RESULT_ROW.search(line)
    ]


QUOTED = re.compile(r"(?<![\w.+-])([+-]?\d+(?:\.\d+)?) \[([+-]?\d+(?:\.\d+)?), ([+-]?\d+(?:\.\d+)?)\]")


def quoted_results(text: str) -> list[tuple[str, tuple[float, float, float]]]:
    """Every 'value [low, high]' in `text`, as (the text, the three numbers).

    >>> quoted_results("the LSTM (0.67 [0.44, 0.90]) and +0.32 [+0.10, +0.53]; L50 40 [31, 60]")
    [('0.67 [0.44, 0.90]', (0.67, 0.44, 0.9)), ('+0.32 [+0.10, +0.53]', (0.32, 0.1, 0.53)), ('40 [31, 60]', (40.0, 31.0, 60.0))]
    """
    return [(m.group(0), tuple(float(g) for g in m.groups())) for m in QUOTED.finditer(text)]


def unmatched_quotes(page: str, results: str) -> list[str]:
    """The results a page's prose quotes ('0.67 [0.44, 0.90]', outside the generated blocks) that no result in
    `results` (the reports' and benchmarks' text) rounds to: a number typed by hand that the results no longer
    hold. A quote matches a result whose three numbers round to it at the quote's own precision.

    >>> unmatched_quotes("at L=30 the SRN (0.5 [0.34, 0.65]) and 0.6 [0.1, 0.9]", "| 30 | 0.50 [0.34, 0.65] (n=10) |")
    ['0.6 [0.1, 0.9]']
    """
    for block in (BLOCK, HELP_BLOCK, SUITE_BLOCK, GENERATED_BLOCK):
        page = block.sub("", page)
    held = {numbers for _, numbers in quoted_results(results)}

    def matches(quote: str, numbers) -> bool:
        places = [len(part.partition(".")[2]) for part in re.findall(r"\d+(?:\.\d+)?", quote)]
        return any(all(round(h, d) == round(q, d) for h, q, d in zip(have, numbers, places)) for have in held)

    return [quote for quote, numbers in quoted_results(" ".join(page.split())) if not matches(quote, numbers)]


def pages(paths) -> list[Path]:
    """The markdown files under `paths` (folders are searched)."""
    found = []
    for path in map(Path, paths):
        found += sorted(path.rglob("*.md")) if path.is_dir() else [path]
    return found


def main(argv: list[str] | None = None, prog: str = "memorybench docs") -> int:
    parser = Parser(
        prog=prog,
        description="Rewrite the results tables of the docs from the reports they name "
        '(<!-- table: FILE, after "TEXT" --> ... <!-- /table --> blocks) and the command help '
        "from the parsers (<!-- help: COMMAND --> ... <!-- /help -->).",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=folder_path,
        default=["docs", "README.md"],
        help="pages or folders of pages (default: docs and README.md)",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit status 1 when a block is stale or a row typed by hand"
    )
    args = parser.parse_or_exit(argv)
    missing = [path for path in args.paths if not Path(path).exists()]
    if missing:
        default = missing[0] in ("docs", "README.md")
        where = " (run it in a memorybench checkout, or name the pages)" if default else ""
        print(f"{prog}: error: {missing[0]}: no such page or folder{where}", file=sys.stderr)
        return 2
    try:
        stale = refresh_pages(args.paths, args.check)
    except (ValueError, OSError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    for line in stale:
        print(line)
    return 1 if stale and (args.check or any("typed by hand" in line for line in stale)) else 0


def refresh_pages(paths: list[str], check: bool) -> list[str]:
    """Rewrite (or, with `check`, only compare) every block of the pages under `paths`; a line per stale page and
    per results row typed by hand."""
    from memorybench.storage.rundir import write_text_atomic

    read = lambda path: (REPO_ROOT / path).read_text()
    stale = []
    for page in pages(paths):
        text = page.read_text()
        new = refresh(text, read, str(page))
        typed = [
            f"{page}:{n}: a results row typed by hand (put it in a <!-- table: ... --> block)"
            for n, _ in hand_typed_rows(new)
        ]
        stale += typed
        if new != text:
            stale.append(f"{page}: {'stale' if check else 'rewritten'}: its blocks differ from their sources")
            if not check:
                write_text_atomic(page, new)
    return stale
