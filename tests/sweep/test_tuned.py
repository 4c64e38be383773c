"""The tuned horizon search (`memorybench horizon --tune`): every probed length at each recipe of the cell's grid,
its verdict at the recipe the dev scores pick."""

import math

import pandas as pd
import pytest

from memorybench.analysis.recipes import choose_recipe, recipe_grid, tuned_probe, with_recipes
from memorybench.analysis.search import passes
from memorybench.cells import CellSpec, Recipe, get_cell
from memorybench.cli.horizon import main
from memorybench.config import protocol_config
from memorybench.storage.store import ResultsStore

SEARCH = ["--task", "nndl", "--cells", "srn", "--seeds", "2", "--quick", "--max-length", "12", "--workers", "1"]
SEARCH += ["--device", "cpu", "--no-progress"]


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    out = tmp_path_factory.mktemp("tuned") / "out"
    assert main([*SEARCH, "--tune", "--out", str(out)]) == 0
    return out


def test_every_probe_trains_each_recipe_and_reads_the_one_its_dev_scores_pick(tuned):
    probes = pd.read_csv(tuned / "tables" / "tuned_probes.csv")
    runs = with_recipes(ResultsStore.open(tuned).collect()[0])
    grid = list(recipe_grid(protocol_config("nndl", cell="srn")))
    assert len(probes) >= 2 and set(probes["recipes"]) == {4}
    for _, probe in probes.iterrows():
        at = runs[runs["seq_len"] == probe["seq_len"]]
        assert sorted(at["recipe"]) == sorted(grid * 2)  # 4 recipes x 2 seeds, nothing else
        dev = at.groupby("recipe")["best_dev_score"].mean()
        assert dev[probe["recipe"]] == dev.max()  # the best dev mean (a tie goes to fewer steps: not here)
        chosen = at[at["recipe"] == probe["recipe"]]["test_score"]
        assert probe["mean"] == pytest.approx(chosen.mean()) and probe["passed"] == passes(
            chosen.mean(), 0.55, "higher"
        )
        solved = sum(passes(s, 0.55, "higher") for s in at["test_score"])
        assert probe["trainability"] == pytest.approx(solved / len(at))


def test_the_tuned_row_is_labelled_and_kept_apart_from_the_protocol_search(tuned):
    row = pd.read_csv(tuned / "tables" / "tuned_horizons.csv").iloc[0]
    assert (
        row["recipe"] == "best of 4 recipes"
        and row["recipes"] == 4
        and row["l50_reading"]
        in (
            "fit",
            "separated",
            "censored above",
            "censored below",
            "no fall",
            "one length",
        )
    )
    probes = pd.read_csv(tuned / "tables" / "tuned_probes.csv")
    assert row["runs"] == 4 * 2 * len(probes) and row["wall_time_s"] == pytest.approx(probes["grid_wall_time_s"].sum())
    assert not (tuned / "tables" / "search_horizons.csv").exists()


def test_a_protocol_search_after_a_tuned_one_reuses_its_protocol_recipe_runs(tuned, tmp_path, capsys):
    probed = set(pd.read_csv(tuned / "tables" / "tuned_probes.csv")["seq_len"])
    before = len(ResultsStore.open(tuned).collect()[0])
    assert main([*SEARCH, "--out", str(tuned)]) == 0
    searched = pd.read_csv(tuned / "tables" / "search_probes.csv")
    trained = len(ResultsStore.open(tuned).collect()[0]) - before
    assert trained == 2 * len(set(searched["seq_len"]) - probed)  # only lengths the tuned search did not probe
    assert "runs trained" in capsys.readouterr().out


def test_tune_with_seed_rounds_is_one_line_and_exit_2(tmp_path, capsys):
    assert main([*SEARCH, "--tune", "--max-seeds", "6", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--max-seeds 6 with --tune is not supported" in err[0]
    assert not (tmp_path / "x").exists()


def _runs(dev, steps, labels):
    return pd.DataFrame(
        dict(recipe=[label for label in labels for _ in range(2)], status="ok", best_dev_score=dev, best_step=steps)
    )


def test_the_choice_reads_dev_then_steps_then_the_grids_order():
    labels = ["lr 0.001", "lr 0.01"]
    assert choose_recipe(_runs([0.5, 0.5, 0.5, 0.5], [100, 100, 100, 100], labels), labels, "higher") == "lr 0.001"
    assert choose_recipe(_runs([0.5, 0.5, 0.5, 0.5], [300, 300, 100, 100], labels), labels, "higher") == "lr 0.01"
    assert choose_recipe(_runs([0.1, 0.2, 0.3, 0.3], [1, 1, 1, 1], labels), labels, "lower") == "lr 0.001"  # mse
    failed = _runs([0.9, 0.9, 0.95, 0.95], [1, 1, 1, 1], labels).assign(status=["ok", "ok", "ok", "failed"])
    assert choose_recipe(failed, labels, "higher") == "lr 0.001"  # a diverged seed counts as the worst


def test_the_test_score_never_picks_the_recipe():
    runs = pd.DataFrame(dict(cell="srn", seq_len=9, lr=[1e-3] * 2 + [1e-2] * 2, forget_bias=math.nan, seed=[0, 1] * 2,
                             status="ok", best_dev_score=[0.9, 0.9, 0.5, 0.5], best_step=1, pack_size=2,
                             wall_time_s=1.0, test_score=[0.3, 0.3, 1.0, 1.0]))  # fmt: skip
    probe = tuned_probe(runs, ["lr 0.001", "lr 0.01"], 0.55, "higher")
    assert probe["recipe"] == "lr 0.001" and not probe["passed"] and probe["trainability"] == 0.5


def test_a_cell_declares_its_grid_and_a_forget_bias_needs_a_forget_gate():
    assert list(recipe_grid(protocol_config("nndl", cell="lstm"))) == [
        "lr 0.001",
        "lr 0.0003",
        "lr 0.003",
        "lr 0.01",
        "lr 0.001, forget bias 1",
    ]
    fields = {**get_cell("srn").__dict__, "name": "slow_srn", "recipes": (Recipe(lr=1e-4), Recipe(lr=1e-3))}
    own = CellSpec(**fields)
    assert [r.overrides() for r in own.recipes] == [{"lr": 1e-4}, {"lr": 1e-3}]
    with pytest.raises(ValueError, match="a recipe sets forget_bias, but the cell has no forget gate"):
        CellSpec(**{**fields, "recipes": (Recipe(forget_bias=1.0),)})


def test_the_report_shows_the_tuned_search_beside_its_picks(tuned):
    from memorybench.report.build import build_report

    text = build_report(tuned).read_text()
    section = text[text.index("## Tuned horizon search") :]
    row = pd.read_csv(tuned / "tables" / "tuned_horizons.csv").iloc[0]
    probes = pd.read_csv(tuned / "tables" / "tuned_probes.csv")
    assert "**SRN** on `nndl` (nndl), 2 seeds, 200 steps, best of 4 recipes: horizon" in section
    assert f"{int(row['runs'])} runs over {len(probes)} probed lengths" in section
    for probe in probes.itertuples():
        assert f"| {probe.seq_len} | {probe.recipe} |" in section


def test_a_tuned_search_run_again_trains_nothing_and_writes_the_same_tables(tuned, capsys):
    before = pd.read_csv(tuned / "tables" / "tuned_probes.csv").drop(columns=["wall_time_s", "grid_wall_time_s"])
    assert main([*SEARCH, "--tune", "--out", str(tuned)]) == 0
    assert "\n0 runs trained" in capsys.readouterr().out
    after = pd.read_csv(tuned / "tables" / "tuned_probes.csv").drop(columns=["wall_time_s", "grid_wall_time_s"])
    pd.testing.assert_frame_equal(before, after)
