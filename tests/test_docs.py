"""The README stays short and keeps its two quick-start commands; the docs are all in the nav; CI
builds them strictly. Text checks only: the MkDocs build itself runs in `.ci/run`."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

MAIN_COMMAND = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && python run_all.py --lengths 5 10 15 20 25 30"
)
TEST_COMMAND = 'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev,ray]" && python -m pytest'


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 210, f"README.md has {len(lines)} lines; move the rest into docs/"


def test_readme_keeps_the_quick_start_commands_verbatim():
    text = README.read_text(encoding="utf-8")
    for command in (MAIN_COMMAND, TEST_COMMAND):
        assert f"```bash\n{command}\n```" in text, command


def test_ci_runs_the_tests_and_builds_the_docs_strictly():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest" in ci
    assert "mkdocs build --strict" in ci


def test_every_docs_page_is_in_the_nav_and_every_readme_link_to_docs_resolves():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md"))
    assert pages, "docs/ holds no pages"
    missing = [page for page in pages if not re.search(rf":\s*{re.escape(page)}\s*$", nav, re.M)]
    assert not missing, f"not in mkdocs.yml's nav: {missing}"
    links = re.findall(r"\]\((docs/[^)#\s]+)", README.read_text(encoding="utf-8"))
    assert links, "the README links to no docs page"
    assert [link for link in links if not (ROOT / link).is_file()] == []


# Sentences the committed runs contradict (issue 44), each with what the runs say instead.
CONTRADICTED = {
    r"stays near chance at every length": "the book-init SRN at lr 1e-2 reaches 0.41 [0.18, 0.65] at L=10",
    r"modern cells trail at every length": "at L=30 the LRU's 0.53 is above the SRN's 0.34",
    r"every associative-recall run": "21 of associative recall's 84 runs trained on the 2-core CPU",
}


def test_no_page_repeats_a_sentence_the_runs_contradict():
    pages = [README, *sorted((ROOT / "docs").rglob("*.md"))]
    found = [
        f"{page.relative_to(ROOT)}: '{pattern}' ({why})"
        for page in pages
        for pattern, why in CONTRADICTED.items()
        if re.search(pattern, " ".join(page.read_text(encoding="utf-8").split()))
    ]
    assert found == []


# quotes of results as they stood before a retrain, kept on purpose in the sentence that says so
HISTORY = {
    "0.70 [0.55, 0.85]": "reproduce-the-book: the LSTM at L=30 before 0.2.0's packing",
    "0.36 [0.18, 0.54]": "reproduce-the-book: the SRN at L=30 before 0.2.0's packing",
}


def test_every_result_quoted_in_prose_is_one_the_results_hold():
    """A number with its interval typed into a page ('0.67 [0.44, 0.90]', outside the generated blocks) must round
    from one the reports or benchmark outputs hold now: a retrain that moves it fails here until the page follows."""
    from memorybench.cli.docs import unmatched_quotes

    results = ROOT / "results"
    held = "\n".join(p.read_text() for p in [*sorted(results.rglob("*.md")), *sorted(results.glob("benchmarks/*.txt"))])
    stale = {
        (page.relative_to(ROOT).as_posix(), quote)
        for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
        for quote in unmatched_quotes(page.read_text(), held)
        if quote not in HISTORY
    }
    assert stale == set()


def test_the_readme_table_marks_every_entry_whose_runs_another_folder_holds():
    """suite.json's `reused_from`: the same runs read in two rows say so in the table (the modern row's SRN, LSTM and
    GRU are the default folder's runs, which nndl-seeds5 reads too)."""
    import json

    entries = json.loads((ROOT / "results" / "suite" / "suite.json").read_text())["entries"]
    reused = [e for e in entries if e.get("reused_from")]
    rows = {
        line.split(" | ")[0]: line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `")
    }
    assert reused
    for entry in reused:
        row = next(line for key, line in rows.items() if f"`{entry['folder']}`" in key and entry["experiment"] in key)
        assert f"; runs of `{entry['reused_from'][0]}`" in row, entry["folder"]
