"""Jaeger memory capacity: models with a known answer, the estimator's honesty, its streams, when cells differ,
a stored run and the command."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from memorybench.config import protocol_config
from memorybench.cli.diagnose import memory_capacity as main
from memorybench.diagnostics.memory_capacity import (
    DELAY_COLUMNS,
    STREAM_KEY,
    cell_differences,
    delayed_targets,
    mc_summary,
    mc_table,
    memory_capacity,
    plot_mc_curves,
    plot_stream_spread,
    report_section,
    run_memory_capacity,
    run_summary,
    squared_correlations,
    stream_seed,
)
from memorybench.models import build_model
from memorybench.storage.store import ResultsStore
from memorybench.tasks import get_task
from memorybench.tasks.delayed_recall import delayed_recall_task, memoryless_mse
from tests.conftest import train_into

SMALL = dict(train_steps=2000, test_steps=2000, washout=50)  # null delays add ~1/2000 each


def register(units: int, lag: int = 0):
    """(B, T, 1) -> (B, T, units): unit j holds u(t - lag - j) (0 before the stream starts), exactly."""

    def states(x):
        u = x[..., 0]
        return torch.stack([F.pad(u, (j + lag, 0))[:, : u.shape[1]] for j in range(units)], dim=-1)

    return states


def srn_register(units: int, delays: int, epsilon: float = 1e-3):
    """A real SRN SequenceModel set by hand to a shift register: h_t = tanh(S h_{t-1} + epsilon u(t) e_1), S the
    down-shift, so unit j holds tanh^(j+1)(epsilon u(t - j)), linear in u(t - j) to ~1e-6 at this epsilon."""
    model = build_model(delayed_recall_task(delays, name="probe"), "srn", hidden_size=units)
    with torch.no_grad():
        model.rnn.weight_ih_l0.zero_()[0, 0] = epsilon
        model.rnn.weight_hh_l0.copy_(torch.diag(torch.ones(units - 1), -1))  # row j reads unit j - 1
        model.rnn.bias_ih_l0.zero_()
        model.rnn.bias_hh_l0.zero_()
    return model


# --- models with a known answer ------------------------------------------------------------------


def test_delayed_targets_are_aligned():
    u = np.arange(10.0)
    assert delayed_targets(u, 3, start=3).tolist()[:2] == [[2, 1, 0], [3, 2, 1]]  # row t: u(t-1), u(t-2), u(t-3)
    assert delayed_targets(u, 3, start=3).shape == (7, 3)


@pytest.mark.parametrize("units", [1, 5, 16])
def test_a_shift_register_of_the_current_and_last_inputs_holds_delays_1_to_n_minus_1(units):
    delays = units + 8
    mc_k, mc = memory_capacity(register(units), delays=delays, seed=1, **SMALL)
    assert mc_k.shape == (delays,)
    assert mc_k[: units - 1] == pytest.approx(1.0, abs=1e-9)  # k = 1..N-1: in the state exactly
    assert mc_k[units - 1 :].max() < 0.01  # k >= N: gone (chance only)
    assert units - 1 - 1e-9 <= mc <= units - 1 + 0.05 and mc == pytest.approx(mc_k.sum())


@pytest.mark.parametrize("units", [1, 5, 16])
def test_a_shift_register_one_step_behind_reaches_the_bound_n_and_not_more(units):
    delays = units + 8
    mc_k, mc = memory_capacity(register(units, lag=1), delays=delays, seed=2, **SMALL)
    assert mc_k[:units] == pytest.approx(1.0, abs=1e-9)  # k = 1..N
    assert mc_k[units:].max() < 0.01
    assert units - 1e-9 <= mc <= units + 0.05  # MC <= N up to the chance correlation of the 8 empty delays


def test_an_srn_built_as_a_shift_register_holds_delays_1_to_n_minus_1():
    units, delays = 8, 16
    mc_k, mc = memory_capacity(srn_register(units, delays), delays=delays, seed=3, **SMALL)
    assert mc_k[: units - 1] == pytest.approx(1.0, abs=1e-4)
    assert mc_k[units - 1 :].max() < 0.01 and mc == pytest.approx(units - 1, abs=0.05)


def test_a_model_that_forgets_everything_has_no_capacity():
    model = srn_register(8, 16)
    with torch.no_grad():
        model.rnn.weight_ih_l0.normal_(generator=torch.Generator().manual_seed(0))  # h_t = tanh(w u(t)): u(t) only
        model.rnn.weight_hh_l0.zero_()
    mc_k, mc = memory_capacity(model, delays=16, seed=4, **SMALL)
    assert mc_k.max() < 0.01 and mc < 0.05
    constant = lambda x: torch.ones(*x.shape[:2], 3)  # noqa: E731
    mc_k, mc = memory_capacity(constant, delays=16, seed=4, **SMALL)
    assert mc_k.tolist() == [0.0] * 16 and mc == 0.0


def test_fitting_on_one_stream_and_scoring_on_another_keeps_noise_out():
    """A 40-unit state of pure noise: scored on the fitting data its read-outs would 'explain' about
    K (N+1)/n of variance; scored on the test stream they explain about K/n."""
    noise = lambda x: torch.randn(*x.shape[:2], 40, generator=torch.Generator().manual_seed(x.shape[1]))  # noqa: E731
    mc_k, mc = memory_capacity(noise, delays=20, seed=0, train_steps=500, test_steps=500, washout=20)
    assert mc < 0.2
    h = noise(torch.zeros(1, 520, 1))[0, 20:].double().numpy()
    u = np.random.default_rng(0).uniform(-0.5, 0.5, 520)
    x, y = np.hstack([h, np.ones((500, 1))]), delayed_targets(u, 20, 20)
    in_sample = squared_correlations(x @ np.linalg.lstsq(x, y, rcond=None)[0], y).sum()
    assert in_sample > 1.0  # what an estimator without a test stream would report


@pytest.mark.parametrize("cell", ["srn", "lstm", "gru"])
def test_random_cells_stay_within_the_bounds(cell):
    model = build_model(delayed_recall_task(24, name="probe"), cell, hidden_size=6, seed=1)
    mc_k, mc = memory_capacity(model, delays=24, seed=0, **SMALL)
    assert ((mc_k >= 0) & (mc_k <= 1)).all() and 0.5 < mc <= 6 + 0.05
    again, _ = memory_capacity(model, delays=24, seed=0, **SMALL)
    other, _ = memory_capacity(model, delays=24, seed=1, **SMALL)
    assert np.array_equal(mc_k, again) and not np.array_equal(mc_k, other)


def test_streams_and_scale():
    assert stream_seed(0, "train") != stream_seed(0, "test") != stream_seed(1, "test")
    mc_k, _ = memory_capacity(register(4), scale=3.0, delays=6, seed=0, **SMALL)  # a register is scale-free
    assert mc_k[:3] == pytest.approx(1.0, abs=1e-9)


# --- several streams ------------------------------------------------------------------------------


def test_stream_0_keeps_the_seeds_of_the_single_stream_before_and_the_others_are_new():
    """The seeds memorybench drew before there were several streams (spawn_key (STREAM_KEY, part)), as literals."""
    assert [stream_seed(0, "train"), stream_seed(0, "test"), stream_seed(7, "train"), stream_seed(7, "test")] == [
        4136047836129533732,
        6682425247834754055,
        8254802116992959146,
        4797181135352284271,
    ]
    assert stream_seed(7, "test", stream=0) == stream_seed(7, "test")
    state = np.random.SeedSequence(entropy=7, spawn_key=(STREAM_KEY, 1, 3)).generate_state(2, np.uint64)
    assert stream_seed(7, "test", 3) == int(state[0] >> np.uint64(1))  # stream i > 0: spawn_key (STREAM_KEY, part, i)
    seeds = [stream_seed(7, part, i) for i in range(5) for part in ("train", "test")]
    assert len(set(seeds)) == 10 and all(0 <= seed < 2**63 for seed in seeds)
    with pytest.raises(ValueError, match="stream=-1"):
        stream_seed(0, "train", -1)


def test_stream_0_is_the_single_stream_mc_of_before_and_other_streams_differ():
    model = build_model(delayed_recall_task(24, name="probe"), "gru", hidden_size=6, seed=1)
    mc_k, mc = memory_capacity(model, delays=24, seed=0, **SMALL)
    # what the single-stream estimator gave for this model on a Xeon; another CPU's BLAS rounds the regression
    # otherwise (an EPYC: 1.1e-8 relative), while another stream moves it by 2-7% (below)
    assert mc == pytest.approx(2.314883922839143, rel=1e-6)
    same, _ = memory_capacity(model, delays=24, seed=0, stream=0, **SMALL)
    assert np.array_equal(mc_k, same)
    others = [memory_capacity(model, delays=24, seed=0, stream=i, **SMALL)[1] for i in (1, 2, 3)]
    assert len({mc, *others}) == 4 and max(abs(other - mc) for other in others) < 1.0  # other streams, the same model
    with pytest.raises(ValueError, match="stream=-1"):
        memory_capacity(model, delays=24, seed=0, stream=-1, **SMALL)


def per_delay(rows):
    """A hand-made `run_memory_capacity` frame: rows (cell, seed, stream, mc) with MC spread over 2 delays."""
    records = []
    for cell, seed, stream, mc in rows:
        for k, share in ((1, 0.75), (2, 0.25)):
            records.append(
                dict(
                    run_id=f"{cell}{seed}",
                    experiment="e",
                    task="delayed_recall",
                    scale=0.5,
                    seq_len=80,
                    cell=cell,
                    hidden_size=8,
                    seed=seed,
                    stream=stream,
                    train_stream_seed=100 + stream,
                    test_stream_seed=200 + stream,
                    k=k,
                    mc_k=share * mc,
                    head_mc_k=0.5 * k,
                    head_mse_k=0.06 + 0.01 * k,
                )
            )
    return pd.DataFrame(records, columns=DELAY_COLUMNS)


def test_the_summary_is_over_seeds_of_the_stream_mean_with_the_median_stream_range():
    frame = per_delay(
        [
            ("srn", seed, stream, mc)
            for seed, mcs in enumerate([[4.0, 4.2, 4.6], [5.0, 5.1, 5.2], [6.0, 6.8, 6.4]])
            for stream, mc in enumerate(mcs)
        ]
    )
    streams = run_summary(frame)
    assert len(streams) == 9 and streams["mc"].tolist() == pytest.approx([4.0, 4.2, 4.6, 5.0, 5.1, 5.2, 6.0, 6.8, 6.4])
    assert streams[["stream", "train_stream_seed", "test_stream_seed"]].iloc[4].tolist() == [1, 101, 201]
    assert streams["head_mse"].tolist() == pytest.approx([0.075] * 9)  # the run's, on every stream
    row = mc_summary(frame).iloc[0]
    means = [(4.0 + 4.2 + 4.6) / 3, 5.1, 6.4]
    assert (row.n, row.streams, row.delays) == (3, 3, 2)
    assert row.mc == pytest.approx(np.mean(means)) and row.mc_per_unit == pytest.approx(np.mean(means) / 8)
    half = 4.302652729911275 * np.std(means, ddof=1) / math.sqrt(3)  # t(0.975, 2 degrees of freedom)
    assert (row.mc_ci_low, row.mc_ci_high) == pytest.approx((np.mean(means) - half, np.mean(means) + half))
    assert row.stream_range == pytest.approx(0.6) and row.stream_range_max == pytest.approx(0.8)  # ranges 0.6, 0.2, 0.8


def summary_row(cell, mc, low, high, stream_range, hidden_size=8):
    return dict(
        experiment="e",
        seq_len=80,
        hidden_size=hidden_size,
        cell=cell,
        mc=mc,
        mc_ci_low=low,
        mc_ci_high=high,
        stream_range=stream_range,
    )


@pytest.mark.parametrize(
    "a, b, overlap, verdict",
    [
        (
            summary_row("srn", 6.0, 5.0, 7.0, 0.1),
            summary_row("gru", 4.5, 4.0, 5.5, 0.1),
            True,
            "not distinguishable",
        ),  # overlapping
        (
            summary_row("srn", 6.0, 5.9, 6.1, 0.1),
            summary_row("gru", 5.5, 5.4, 5.6, 0.8),
            False,
            "not distinguishable",
        ),  # < B's range
        (
            summary_row("srn", 6.0, 5.9, 6.1, 0.6),
            summary_row("gru", 5.5, 5.4, 5.6, 0.1),
            False,
            "not distinguishable",
        ),  # < A's range
        (summary_row("srn", 6.0, 5.9, 6.1, 0.4), summary_row("gru", 5.5, 5.4, 5.6, 0.4), False, "differs"),
        (
            summary_row("srn", 5.0, 4.9, 5.1, 0.1),
            summary_row("gru", 6.0, 5.9, 6.1, 0.2),
            False,
            "differs",
        ),  # either sign
        (
            summary_row("srn", 6.0, math.nan, math.nan, 0.1),
            summary_row("gru", 4.0, 3.9, 4.1, 0.1),
            True,
            "not distinguishable",
        ),  # 1 seed
    ],
)
def test_a_difference_is_claimed_only_outside_both_intervals_and_beyond_both_stream_ranges(a, b, overlap, verdict):
    row = cell_differences(pd.DataFrame([a, b])).iloc[0]
    assert (row.cell_a, row.cell_b, bool(row.overlap), row.verdict) == ("srn", "gru", overlap, verdict)
    assert row.difference == pytest.approx(a["mc"] - b["mc"]) and (row.stream_range_a, row.stream_range_b) == (
        a["stream_range"],
        b["stream_range"],
    )


def test_cells_are_compared_only_at_the_same_hidden_size():
    table = pd.DataFrame(
        [
            summary_row("srn", 6.0, 5.9, 6.1, 0.1),
            summary_row("lstm", 3.0, 2.9, 3.1, 0.1),
            summary_row("gru", 4.0, 3.9, 4.1, 0.1),
            summary_row("srn", 12.0, 11.9, 12.1, 0.1, hidden_size=16),
        ]
    )
    pairs = cell_differences(table)
    assert pairs[["hidden_size", "cell_a", "cell_b"]].values.tolist() == [
        [8, "srn", "lstm"],
        [8, "srn", "gru"],
        [8, "lstm", "gru"],
    ]
    assert (pairs["verdict"] == "differs").all()


def test_the_section_shows_the_stream_range_and_the_verdicts(tmp_path):
    frame = per_delay(
        [
            (cell, seed, stream, base + seed * 0.1 + stream * 0.04)
            for cell, base in (("srn", 6.0), ("lstm", 3.0), ("gru", 3.1))
            for seed in range(3)
            for stream in range(2)
        ]
    )
    mc_summary(frame).to_csv(tmp_path / "memory_capacity.csv", index=False)
    section = "\n".join(report_section(SimpleNamespace(tables_dir=tmp_path)))
    assert (
        "| SRN | 8 | 6.12 [5.87, 6.37] (n=3) | 0.04 (max 0.04; 2 streams) |" in section
    )  # seeds' means 6.02, 6.12, 6.22
    assert "| 8 | SRN | LSTM | +3.00 | no | 0.04, 0.04 | differs |" in section
    assert "| 8 | LSTM | GRU | -0.10 | yes | 0.04, 0.04 | not distinguishable |" in section
    assert "do not overlap **and**" in section and "figures/memory_capacity_streams.png" in section
    old = mc_summary(frame).drop(
        columns=["streams", "stream_range", "stream_range_max"]
    )  # a table from before the streams
    old.to_csv(tmp_path / "memory_capacity.csv", index=False)
    section = "\n".join(report_section(SimpleNamespace(tables_dir=tmp_path)))
    assert (
        "| SRN | 8 | 6.12 [5.87, 6.37] (n=3) | – |" in section
        and "rerun `memorybench diagnose memory-capacity`" in section
    )
    assert "verdict" not in section


def test_plot_stream_spread_draws_a_panel_per_hidden_size(tmp_path):
    frame = per_delay(
        [
            (cell, seed, stream, 3.0 + seed + 0.1 * stream)
            for cell in ("srn", "gru")
            for seed in range(2)
            for stream in range(3)
        ]
    )
    frame = pd.concat([frame, frame.assign(hidden_size=16)])
    assert plot_stream_spread(run_summary(frame), tmp_path / "spread.png", "test").stat().st_size > 5_000


@pytest.mark.parametrize(
    "model, kwargs, message",
    [
        (register(2), dict(delays=8, washout=7), r"washout=7 .*integer >= 8"),
        (register(2), dict(scale=0.0), "scale=0.0"),
        (register(2), dict(test_steps=1), "test_steps=1"),
        (register(2), dict(delays=0), "delays=0"),
        (lambda x: x[0], dict(), r"shape \(10050, 1\); expected \(1, 10050, N\)"),
        (build_model(get_task("nndl"), "gru", hidden_size=4), dict(), "one real input channel"),
        (
            build_model(delayed_recall_task(4, name="probe"), "gru", hidden_size=4, bidirectional=True),
            dict(delays=4),
            "bidirectional=True",
        ),
    ],
)
def test_bad_parameters_are_one_line_value_errors(model, kwargs, message):
    options = dict(delays=2, seed=0, train_steps=10_000, test_steps=50, washout=50) | kwargs
    with pytest.raises(ValueError, match=message) as caught:
        memory_capacity(model, **options)
    assert "\n" not in str(caught.value)
    with pytest.raises(ValueError, match="part='dev'"):
        stream_seed(0, "dev")


# --- a stored run and the command ----------------------------------------------------------------

CLI_OPTIONS = ["--train-steps", "400", "--test-steps", "400", "--washout", "70", "--streams", "2"]


@pytest.fixture(scope="module")
def recall_store(tmp_path_factory):
    """Four tiny delayed-recall runs (SRN and GRU, 2 seeds, N = 4) and one digit-sum run."""
    store = ResultsStore.open(tmp_path_factory.mktemp("recall") / "results")
    for cell in ("srn", "gru"):
        for seed in (0, 1):
            train_into(
                store,
                protocol_config(
                    "stream",
                    task="delayed_recall",
                    cell=cell,
                    seed=seed,
                    seq_len=66,
                    hidden_size=4,
                    steps=20,
                    eval_interval=10,
                    device="cpu",
                ),
            )
    train_into(store, protocol_config("nndl", cell="srn", seq_len=5, steps=20, eval_interval=10, device="cpu"))
    return store


def test_a_stored_run_reports_mc_and_its_trained_heads_score(recall_store):
    runs = recall_store.collect()[0]
    row = runs[runs["task"] == "delayed_recall"].iloc[0]
    frame = run_memory_capacity(
        recall_store.runs_dir / row["run_id"], streams=1, train_steps=400, test_steps=400, washout=70
    )
    assert len(frame) == 64 and frame["k"].tolist() == list(range(1, 65)) and (frame["run_id"] == row["run_id"]).all()
    assert frame["mc_k"].between(0, 1).all() and frame["head_mc_k"].between(0, 1).all()
    assert frame["head_mse_k"].mean() == pytest.approx(row["test_score"], rel=1e-5)  # the run's own test score
    assert (frame["scale"] == 0.5).all() and frame["mc_k"].sum() <= 4 + 0.2
    assert (
        frame.columns.tolist() == DELAY_COLUMNS and (frame["stream"] == 0).all()
    )  # streams=1: the single stream of before
    assert (frame["train_stream_seed"] == stream_seed(row["seed"], "train")).all()
    three = run_memory_capacity(
        recall_store.runs_dir / row["run_id"], streams=3, train_steps=400, test_steps=400, washout=70
    )
    assert len(three) == 3 * 64 and three["stream"].tolist() == [0] * 64 + [1] * 64 + [2] * 64
    first = three[three["stream"] == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, frame)  # stream 0 bit for bit
    mcs = three.groupby("stream")["mc_k"].sum()
    assert mcs.nunique() == 3 and mcs.max() - mcs.min() < 1.0
    seeds = three.groupby("stream")[["train_stream_seed", "test_stream_seed"]].first()
    assert seeds.loc[2].tolist() == [stream_seed(row["seed"], "train", 2), stream_seed(row["seed"], "test", 2)]
    for head in ("head_mc_k", "head_mse_k"):  # the trained head's, the same on every stream
        assert np.array_equal(three[head].to_numpy().reshape(3, 64), np.tile(frame[head].to_numpy(), (3, 1)))
    nndl = runs[runs["task"] == "nndl"].iloc[0]
    with pytest.raises(ValueError, match="task 'nndl' is not a delayed-recall task"):
        run_memory_capacity(recall_store.runs_dir / nndl["run_id"])
    with pytest.raises(ValueError, match="streams=0"):
        run_memory_capacity(recall_store.runs_dir / row["run_id"], streams=0)


@pytest.mark.slow
def test_the_command_writes_the_table_and_the_figure(recall_store, capsys):
    assert main([str(recall_store.root), *CLI_OPTIONS]) == 0
    out, err = capsys.readouterr()
    assert "skipped: task 'nndl' is not a delayed-recall task" in err and err.count("\n") == 1
    table = pd.read_csv(recall_store.root / "tables" / "memory_capacity.csv")
    assert table["cell"].tolist() == ["srn", "gru"] and (table["n"] == 2).all() and (table["hidden_size"] == 4).all()
    assert table["mc_per_unit"].tolist() == pytest.approx((table["mc"] / 4).tolist())
    assert ((table["mc_ci_low"] <= table["mc"]) & (table["mc"] <= table["mc_ci_high"])).all()
    assert table["memoryless_mse"].tolist() == pytest.approx([memoryless_mse(0.5)] * 2) and (table["mc"] <= 4.2).all()
    runs = recall_store.collect()[0]
    srn = runs[(runs["task"] == "delayed_recall") & (runs["cell"] == "srn")]["test_score"]
    assert table.loc[0, "head_mse"] == pytest.approx(srn.mean(), rel=1e-5)
    assert (table["streams"] == 2).all() and (table["stream_range"] <= table["stream_range_max"]).all()
    streams = pd.read_csv(recall_store.root / "tables" / "memory_capacity_streams.csv")
    assert len(streams) == 4 * 2 and streams.groupby("run_id")["stream"].apply(list).tolist() == [[0, 1]] * 4
    seed0 = streams[(streams["seed"] == 0) & (streams["stream"] == 1)]
    assert (seed0["test_stream_seed"] == stream_seed(0, "test", 1)).all()  # 63-bit seeds survive the CSV
    stream_means = streams.groupby(["cell", "seed"], sort=False)["mc"].mean().groupby("cell", sort=False).mean()
    assert table["mc"].tolist() == pytest.approx(stream_means[["srn", "gru"]].tolist())
    differences = pd.read_csv(recall_store.root / "tables" / "memory_capacity_differences.csv")
    assert differences[["cell_a", "cell_b"]].values.tolist() == [["srn", "gru"]]
    assert differences["verdict"].isin(["differs", "not distinguishable"]).all()
    for figure, size in (("memory_capacity.png", 10_000), ("memory_capacity_streams.png", 5_000)):
        figure = recall_store.root / "figures" / figure
        assert figure.stat().st_size > size and str(figure) in out
    again = mc_table(recall_store.root, streams=2, train_steps=400, test_steps=400, washout=70)
    pd.testing.assert_frame_equal(again, table, check_dtype=False)
    from memorybench.report.build import build_report

    section = build_report(recall_store.root).read_text().split("## Memory capacity (delayed recall)")[1]
    srn_mc = table.loc[0]
    assert f"| SRN | 4 | {srn_mc['mc']:.2f} [" in section and "figures/memory_capacity.png" in section
    assert f"| {srn_mc['stream_range']:.2f} (max {srn_mc['stream_range_max']:.2f}; 2 streams) |" in section
    assert f"| 4 | SRN | GRU | {differences.loc[0, 'difference']:+.2f} |" in section


def test_the_command_refuses_bad_input_in_one_line(recall_store, tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    out = capsys.readouterr().out
    assert (
        caught.value.code == 0 and "memory_capacity.csv" in out and "--streams STREAMS" in out and "(default: 5)" in out
    )
    cases = [
        [str(tmp_path / "nope")],
        [str(tmp_path)],
        [str(recall_store.root), "--washout", "0"],
        [str(recall_store.root), "--test-steps", "x"],
        [str(recall_store.root), "--streams", "0"],
    ]
    before = {path: path.stat().st_mtime_ns for path in recall_store.root.rglob("*")}
    for argv in cases:  # a missing folder, a folder that is no store, bad numbers
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "error:" in err, (argv, err)
        if "--streams" in argv:
            assert "streams 0 is too small (allowed: integers >= 1)" in err
    assert {path: path.stat().st_mtime_ns for path in recall_store.root.rglob("*")} == before  # nothing written
    assert (
        main([str(recall_store.root), "--washout", "10"]) == 2
    )  # after the warning that names the skipped digit-sum run
    err = capsys.readouterr().err.splitlines()
    assert (
        len(err) == 2
        and "warning:" in err[0]
        and "error: washout=10 is not allowed; it must be an integer >= 64" in err[1]
    )


def test_plot_mc_curves_draws_several_panels(tmp_path):
    frame = pd.DataFrame(
        dict(
            run_id="r",
            experiment="stream, task=delayed_recall",
            task="delayed_recall",
            scale=0.5,
            seq_len=66,
            cell=["srn"] * 4 + ["lstm"] * 4,
            hidden_size=[2] * 4 + [3] * 4,
            seed=0,
            k=[1, 2, 3, 4] * 2,
            mc_k=[1, 0.9, 0.2, 0.0] * 2,
            head_mc_k=[0.8, 0.5, 0.1, 0.0] * 2,
            head_mse_k=0.05,
        )
    )
    path = plot_mc_curves(frame, tmp_path / "mc.png", "test")
    assert path.stat().st_size > 10_000


def test_runs_skipped_for_one_reason_are_one_warning(tmp_path, capsys):
    store = ResultsStore.open(tmp_path / "results")
    for seed in (0, 1):
        train_into(
            store, protocol_config("nndl", cell="srn", seq_len=5, seed=seed, steps=20, eval_interval=10, device="cpu")
        )
    assert main([str(store.root)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "warning: 2 runs skipped: task 'nndl' is not a delayed-recall task" in err[0]
    assert "holds no successful delayed-recall run" in err[1]
