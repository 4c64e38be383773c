"""The phase diagram of a learning-rate sweep: solve rate per rate and length, and L50 at the protocol's rate
beside the rates picked on dev."""

from types import SimpleNamespace

import pandas as pd
import pytest

from memorybench.report.phase import is_rate_sweep, phase_lines, phase_table, readings
from memorybench.tasks import get_task

NNDL = get_task("nndl")
LENGTHS = (10, 20, 40, 80)


def _runs(solved_up_to: dict[float, int], cell="srn", seeds=4) -> pd.DataFrame:
    """Runs at each rate and length: every seed solves (test and dev 0.9) up to its rate's length, none beyond (0.2);
    one seed at each length solves one step further (so the fit is not separated)."""
    rows = []
    for lr, last in solved_up_to.items():
        for n in LENGTHS:
            for seed in range(seeds):
                ok = n <= last or (seed == 0 and n <= 2 * last)
                rows.append(dict(cell=cell, protocol="nndl", task="nndl", task_params="{}", seq_len=n, seed=seed,
                                 lr=lr, init="book", hidden_size=32, forget_bias=None, status="ok", best_step=100,
                                 best_dev_score=0.9 if ok else 0.2, test_score=0.9 if ok else 0.2))  # fmt: skip
    return pd.DataFrame(rows)


def test_the_rate_is_picked_on_dev_at_each_length_and_the_protocols_rate_is_marked():
    runs = _runs({1e-3: 10, 1e-2: 40})
    runs.loc[(runs["lr"] == 1e-3) & (runs["seq_len"] == 80), "test_score"] = 0.95  # test alone never picks
    table = phase_table(runs, NNDL, 0.55)
    chosen = table[table["chosen"]].set_index("seq_len")["recipe"]
    assert chosen.to_dict() == {10: "lr 0.001", 20: "lr 0.01", 40: "lr 0.01", 80: "lr 0.01"}  # 10: a tie -> protocol
    assert set(table[table["protocol"]]["lr"]) == {1e-3}
    at = table.set_index(["recipe", "seq_len"])
    assert at.loc[("lr 0.01", 80), "solve_rate"] == 0.25 and at.loc[("lr 0.001", 10), "solved"] == 4


def test_the_tuned_l50_reads_the_picked_rates_and_the_protocol_l50_its_own():
    runs = _runs({1e-3: 10, 1e-2: 20})
    read = readings(runs, phase_table(runs, NNDL, 0.55), NNDL, 0.55).iloc[0]
    assert read["recipes"] == 2 and read["picks"] == "10: 0.001; 20: 0.01; 40: 0.01; 80: 0.001"  # 10, 80: ties
    l50 = lambda text: float(text.split()[1])
    assert l50(read["protocol_l50"]) < 20 < l50(read["tuned_l50"]) < 40


def test_only_a_sweep_over_the_rate_alone_is_a_phase_diagram(tmp_path):
    runs = _runs({1e-3: 10, 1e-2: 40})
    assert is_rate_sweep(runs) and not is_rate_sweep(runs[runs["lr"] == 1e-3])
    assert not is_rate_sweep(runs.assign(init=["book", "torch"] * (len(runs) // 2)))  # a settings study: capacity
    store = SimpleNamespace(root=tmp_path, tables_dir=tmp_path / "tables")
    store.tables_dir.mkdir()
    (tmp_path / "figures" / "x").mkdir(parents=True)
    lines = phase_lines(runs, store, "x", None)
    assert lines[0] == "### Phase diagram: learning rate against length" and "| SRN | 2 |" in "\n".join(lines)
    assert (tmp_path / "figures" / "x" / "phase.png").stat().st_size > 0
    assert len(pd.read_csv(tmp_path / "tables" / "phase_x.csv")) == 2 * len(LENGTHS)
    assert phase_lines(runs[runs["lr"] == 1e-3], store, "x", None) == []


@pytest.mark.slow
@pytest.mark.parametrize("cells", [1, 7])
def test_the_figure_has_a_panel_per_cell(tmp_path, cells):
    names = ["srn", "lstm", "gru", "indrnn", "mingru", "minlstm", "lru"][:cells]
    runs = pd.concat([_runs({1e-3: 10, 1e-2: 20}, cell=c, seeds=2) for c in names])
    store = SimpleNamespace(root=tmp_path, tables_dir=tmp_path / "tables")
    store.tables_dir.mkdir()
    (tmp_path / "figures" / "x").mkdir(parents=True)
    lines = phase_lines(runs, store, "x", None)
    table = next(line for line in lines if line.startswith("| cell"))
    assert len(table.splitlines()) == 2 + cells  # header, rule, a row per cell
