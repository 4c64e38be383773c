"""Horizon searches accumulate in a folder (issue 42, case 2): a second search adds its rows, a repeated one
replaces only its own, and the report's section and the suite read every search."""

import pandas as pd
import pytest

from memorybench.analysis.search_record import keyed_probes, merged, probes_of, read_searches
from memorybench.cli.horizon import main

QUICK = [
    "--task",
    "nndl",
    "--seeds",
    "1",
    "--steps",
    "20",
    "--start",
    "4",
    "--max-length",
    "6",
    "--workers",
    "1",
    "--device",
    "cpu",
    "--no-progress",
]


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """One folder searched for the SRN, then for the GRU; (folder, the tables after the SRN's search alone)."""
    out = tmp_path_factory.mktemp("searches") / "out"
    assert main([*QUICK, "--cells", "srn", "--out", str(out)]) == 0
    first = read_searches(out / "tables")
    assert main([*QUICK, "--cells", "gru", "--out", str(out)]) == 0
    return out, first


@pytest.mark.slow
def test_a_second_search_in_a_folder_keeps_the_first(searched):
    out, (srn_horizons, srn_probes) = searched
    horizons, probes = read_searches(out / "tables")
    assert horizons["cell"].tolist() == ["srn", "gru"]
    pd.testing.assert_frame_equal(horizons[horizons["cell"] == "srn"].reset_index(drop=True), srn_horizons)
    pd.testing.assert_frame_equal(probes[probes["cell"] == "srn"].reset_index(drop=True), srn_probes)
    section = (out / "report.md").read_text().split("## Horizon search")[1]
    assert "| SRN | " in section and "| GRU | " in section


@pytest.mark.slow
def test_a_repeated_search_replaces_only_its_own_rows_and_another_budget_adds_its_own(searched, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(searched[0], out)
    before = read_searches(out / "tables")[0]
    assert main([*QUICK, "--cells", "srn", "--out", str(out)]) == 0  # the same search again: its rows, in their place
    pd.testing.assert_frame_equal(
        read_searches(out / "tables")[0].drop(columns="wall_time_s"), before.drop(columns="wall_time_s")
    )
    assert main([*QUICK[:5], "30", *QUICK[6:], "--cells", "srn", "--out", str(out)]) == 0  # --steps 30: another search
    horizons, probes = read_searches(out / "tables")
    assert horizons[["cell", "steps"]].values.tolist() == [["srn", 20], ["gru", 20], ["srn", 30]]
    assert (
        set(probes_of(probes, horizons.iloc[2])["steps"]) == {30}
        and len(probes_of(probes, horizons.iloc[0])) == before.loc[0, "probes"]
    )
    report = (out / "report.md").read_text()
    assert (
        report.count("### `nndl` (nndl), 1 seeds, ") == 2
        and (out / "figures" / "search" / "nndl-nndl-1seeds-30steps-0.55_scores.png").is_file()
    )


def test_probes_written_before_searches_accumulated_take_their_key_from_their_search():
    horizons = pd.DataFrame(dict(task="t", protocol="p", cell=["a", "b"], seeds=3, steps=[100, 200], threshold=0.5))
    probes = pd.DataFrame(dict(task="t", protocol="p", cell=["a", "b", "b"], seq_len=[5, 5, 10], seeds=3))
    keyed = keyed_probes(probes, horizons)
    assert keyed["steps"].tolist() == [100, 200, 200] and keyed.columns.tolist()[:4] == [
        "task",
        "protocol",
        "cell",
        "seq_len",
    ]
    assert probes_of(keyed, horizons.iloc[1])["seq_len"].tolist() == [5, 10]
    assert merged(None, horizons).equals(horizons)


@pytest.mark.slow
def test_re_running_flip_flops_modern_search_trains_nothing_and_restores_its_record(tmp_path, capsys):
    import shutil
    from pathlib import Path

    folder = tmp_path / "flip_flop"
    shutil.copytree(Path(__file__).resolve().parents[2] / "results" / "flip_flop", folder)
    horizons, probes = read_searches(folder / "tables")
    classic = ["srn", "lstm", "gru"]
    horizons[horizons["cell"].isin(classic)].to_csv(
        folder / "tables" / "search_horizons.csv", index=False
    )  # as the overwrite left it
    probes[probes["cell"].isin(classic)].to_csv(folder / "tables" / "search_probes.csv", index=False)
    runs = sorted(p.name for p in (folder / "runs").iterdir())
    assert (
        main(
            [
                "--task",
                "flip_flop",
                "--cells",
                "indrnn",
                "mingru",
                "minlstm",
                "lru",
                "--out",
                str(folder),
                "--no-progress",
            ]
        )
        == 0
    )
    assert (
        "\n0 runs trained in " in capsys.readouterr().out
        and sorted(p.name for p in (folder / "runs").iterdir()) == runs
    )
    restored = read_searches(folder / "tables")[0].set_index("cell")
    assert restored.loc[["indrnn", "mingru", "minlstm", "lru"], ["last_pass", "first_fail"]].values.tolist() == [
        [7, 8],
        [4, 5],
        [4, 5],
        [7, 8],
    ]
    before = horizons.set_index("cell").loc[classic]
    pd.testing.assert_frame_equal(restored.loc[classic, before.columns], before)  # the classic search as it was
