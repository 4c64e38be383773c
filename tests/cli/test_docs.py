"""The docs' results tables come from the reports and their command help from the parsers (`memorybench docs`):
none typed by hand, none stale."""

import sys

import pytest

from memorybench.cli.docs import REPO_ROOT, hand_typed_rows, help_text, main, pages, refresh

HELP_PYTHON = (
    3,
    11,
)  # the Python the committed help blocks were generated with (CI's): argparse's layout changes between versions

REPORT = "# r\n\n## A\n\n| L | SRN |\n|---|---|\n| 5 | 0.9 [0.8, 1.0] |\n\n## B\n\n| L | SRN |\n|---|---|\n| 5 | 0.5 [0.4, 0.6] |\n\n| x |\n|---|\n| 7 |\n"


@pytest.mark.parametrize(
    "page", pages([REPO_ROOT / "docs", REPO_ROOT / "README.md"]), ids=lambda p: str(p.relative_to(REPO_ROOT))
)
def test_every_results_table_in_the_docs_is_the_reports_as_committed(page):
    text = page.read_text()
    helps = sys.version_info[:2] == HELP_PYTHON
    assert refresh(text, lambda path: (REPO_ROOT / path).read_text(), str(page), helps) == text, (
        "stale: run `memorybench docs`"
    )
    assert hand_typed_rows(text) == [], "a results row typed by hand: put the table in a <!-- table: ... --> block"


def test_a_block_takes_the_nth_table_after_its_anchor_and_keeps_the_rest_of_the_page():
    page = 'intro\n<!-- table: r.md, after "## B", nth 2 -->\n| stale |\n<!-- /table -->\nafter\n'
    assert (
        refresh(page, lambda path: REPORT, "p.md")
        == 'intro\n<!-- table: r.md, after "## B", nth 2 -->\n| x |\n|---|\n| 7 |\n<!-- /table -->\nafter\n'
    )
    first = refresh("<!-- table: r.md -->\n<!-- /table -->\n", lambda path: REPORT, "p.md")
    assert "0.9 [0.8, 1.0]" in first and "0.5" not in first


@pytest.mark.parametrize(
    "block, message",
    [
        ('<!-- table: r.md, after "## C" -->\n<!-- /table -->\n', "p.md: r.md has no line holding '## C'"),
        (
            '<!-- table: r.md, after "## B", nth 3 -->\n<!-- /table -->\n',
            "p.md: r.md has 2 table(s) after '## B', not 3",
        ),
    ],
)
def test_a_block_naming_what_is_not_there_is_refused_by_name(block, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        refresh(block, lambda path: REPORT, "p.md")


def test_the_command_rewrites_stale_blocks_and_check_only_reports_them(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("memorybench.cli.docs.REPO_ROOT", tmp_path)
    (tmp_path / "r.md").write_text(REPORT)
    page = tmp_path / "docs" / "p.md"
    page.parent.mkdir()
    page.write_text('<!-- table: r.md, after "## A" -->\n<!-- /table -->\n')
    assert main([str(page.parent), "--check"]) == 1 and "0.9" not in page.read_text()
    assert main([str(page.parent)]) == 0 and "| 5 | 0.9 [0.8, 1.0] |" in page.read_text()
    assert main([str(page.parent), "--check"]) == 0
    page.write_text(page.read_text() + "\n| 6 | 0.7 [0.6, 0.8] |\n")
    assert main([str(page.parent)]) == 1 and "p.md:7: a results row typed by hand" in capsys.readouterr().out
    page.write_text("<!-- table: missing.md -->\n<!-- /table -->\n")
    assert main([str(page.parent)]) == 2 and capsys.readouterr().err.count("\n") == 1


def test_hand_typed_rows_are_results_rows_outside_blocks():
    page = "| cell | command |\n|---|---|\n| SRN | run |\n| 20 [15, ≥ 30] | x |\n<!-- suite -->\n| 20 [15, 25] |\n<!-- /suite -->\n"
    assert [n for n, _ in hand_typed_rows(page)] == [4]  # the suite's block is written by `memorybench suite --readme`


def test_a_help_block_holds_the_commands_help_at_a_fixed_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    page = refresh("<!-- help: diagnose extrapolate -->\nSTALE\n<!-- /help -->\n", None, "p.md")
    assert page.startswith("<!-- help: diagnose extrapolate -->\n```\nusage: memorybench diagnose extrapolate [-h]")
    assert page.endswith("```\n<!-- /help -->\n") and "STALE" not in page and help_text("diagnose extrapolate") in page
    assert max(map(len, page.splitlines())) > 40  # 100 columns, whatever the terminal says
    with pytest.raises(ValueError, match="printed no usage"):
        refresh("<!-- help: nope -->\n<!-- /help -->\n", None, "p.md")


def test_a_generated_block_holds_the_layout_from_the_contract_and_the_api_from_its_names(monkeypatch):
    from memorybench import layers

    page = "<!-- generated: layout -->\nSTALE TEXT\n<!-- /generated -->\n<!-- generated: api -->\n<!-- /generated -->\n"
    new = refresh(page, lambda path: "", "page.md")
    assert "| 5 | `storage/` | results folders" in new and "- `store.py`: The results store" in new
    assert "::: memorybench.config.protocol_config" in new and "STALE TEXT" not in new
    moved = tuple(
        (*layer, layers.Part("made_up", "a part the contract gains")) if i == 3 else layer
        for i, layer in enumerate(layers.LAYERS)
    )
    monkeypatch.setattr(layers, "LAYERS", moved)
    monkeypatch.setattr("memorybench.cli.docs.LAYERS", moved)
    assert "| 3 | `made_up.py` | a part the contract gains |  |" in refresh(page, lambda path: "", "page.md")
    with pytest.raises(ValueError, match="no generator 'nope' \\(allowed: layout, api\\)"):
        refresh("<!-- generated: nope -->\n<!-- /generated -->\n", lambda path: "", "page.md")
