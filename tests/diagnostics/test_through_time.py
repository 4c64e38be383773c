"""Gradients through time: the norms against finite differences of the loss, the checkpoints
they are taken at, the decay rate, and the files the folder-level command writes."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from memorybench.analysis.summary import t975
from memorybench.config import protocol_config
from memorybench.cli.diagnose import through_time as main
from memorybench.diagnostics.through_time import (
    decay_rates,
    decay_table,
    run_profile,
    sequence_losses,
    state_gradients,
    unroll,
    write_through_time,
)
from memorybench.models import build_model, model_for
from memorybench.storage.store import ResultsStore
from memorybench.tasks import get_task
from memorybench.training import load_run
from tests.conftest import train_into

ROOT = Path(__file__).resolve().parents[2]
TASK = get_task("nndl")
SEEDS = (0, 1)


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    """SRN and LSTM at L=5, two seeds each, 20 training steps: a store with both kinds of state."""
    store = ResultsStore.open(tmp_path_factory.mktemp("through_time") / "results")
    for cell in ("srn", "lstm"):
        for seed in SEEDS:
            train_into(
                store,
                protocol_config("nndl", cell=cell, seq_len=5, seed=seed, steps=20, eval_interval=10, device="cpu"),
            )
    return store


def tiny_model(cell):
    return build_model(TASK, cell, embedding_size=3, hidden_size=4, seed=3).double()


def finite_difference_norms(model, inputs, targets, state, eps=1e-6, task=TASK):
    """(N, T): per sequence, the norm of the central-difference gradient of its own loss with respect to
    the state at each step, one unit direction at a time (all sequences at once: they do not interact)."""
    steps = inputs.shape[1]
    hidden = model.rnn.hidden_size * (model.spec.state_factor if state == "h" else 1)  # the LRU's h holds [Re s; Im s]
    norms = torch.zeros(len(inputs), steps, dtype=torch.float64)
    with torch.no_grad():
        for t in range(steps):
            grad = torch.zeros(len(inputs), hidden, dtype=torch.float64)
            for unit in range(hidden):
                delta = torch.zeros(len(inputs), hidden, dtype=torch.float64)
                delta[:, unit] = eps
                plus = sequence_losses(model, task, inputs, targets, perturb=(t, state, delta))
                minus = sequence_losses(model, task, inputs, targets, perturb=(t, state, -delta))
                grad[:, unit] = (plus - minus) / (2 * eps)
            norms[:, t] = grad.norm(dim=1)
    return norms


@pytest.mark.parametrize("cell", ["srn", "lstm", "indrnn", "mingru", "minlstm", "lru"])
def test_gradient_norms_at_every_step_match_central_finite_differences(cell):
    test = TASK.make_data(seq_len=6, seed=0).test
    inputs, targets = test.inputs[::5], test.targets[::5]  # 20 sequences
    model = tiny_model(cell)
    norms = state_gradients(model, TASK, inputs, targets)
    assert sorted(norms) == (["c", "h"] if cell == "lstm" else ["h"])
    for state, values in norms.items():
        assert values.shape == (20, 6) and values.dtype == torch.float64
        expected = finite_difference_norms(model, inputs, targets, state)
        torch.testing.assert_close(values, expected, rtol=1e-6, atol=1e-9)
    signal = norms["h"] > 1e-4  # a real signal at every step, not agreeing zeros
    # relu (IndRNN): a sequence whose units are all off at a step carries no gradient back through it
    assert signal.any(0).all() if cell == "indrnn" else signal.all()
    if cell == "lstm":
        assert (norms["c"][:, :-1] > 1e-4).all() and (norms["c"][:, -1] == 0).all()  # the read-out sees h only


@pytest.mark.parametrize("cell", ["srn", "lstm"])
def test_a_per_step_task_differentiates_its_scored_steps_and_counts_from_the_first(cell):
    from memorybench.diagnostics.through_time import first_output_step, scored_losses

    copy = get_task("copy")
    test = copy.make_data(seq_len=2, seed=0, recall=3).test  # 3 symbols, 1 blank, a delimiter, 3 blanks: 8 steps
    inputs, targets = test.inputs[:12], test.targets[:12]
    model = build_model(copy, cell, embedding_size=3, hidden_size=4, seed=3).double()
    assert first_output_step(copy, targets, inputs.shape[1]) == 5  # recall + T: the first recalled symbol
    outputs, _ = unroll(model, inputs)
    blanks = targets == copy.unscored_class
    per_step = copy.loss(outputs, targets, reduction="none").reshape(12, -1)
    torch.testing.assert_close(scored_losses(copy, outputs, targets), (per_step * ~blanks).sum(1))  # blanks left out
    norms = state_gradients(model, copy, inputs, targets)
    for state, values in norms.items():
        torch.testing.assert_close(
            values, finite_difference_norms(model, inputs, targets, state, task=copy), rtol=1e-6, atol=1e-9
        )
    assert (norms["h"][:, :5] > 1e-6).all()


@pytest.mark.parametrize("cell", ["srn", "lstm", "gru", "indrnn", "mingru", "minlstm", "lru"])
def test_the_step_by_step_forward_is_the_models_own(cell):
    test = TASK.make_data(seq_len=7, seed=1).test
    model = build_model(TASK, cell, seed=2)  # fused: the path it was trained on
    outputs, states = unroll(model, test.inputs)
    torch.testing.assert_close(outputs, model(test.inputs), rtol=1e-5, atol=1e-5)
    assert len(states["h"]) == 7
    loss = TASK.loss(model(test.inputs), test.targets, reduction="sum")
    torch.testing.assert_close(
        sequence_losses(model, TASK, test.inputs, test.targets).sum(), loss, rtol=1e-5, atol=1e-4
    )


def test_unsupported_models_and_perturbations_are_refused_by_name():
    inputs, targets = torch.zeros(2, 5, dtype=torch.long), torch.zeros(2, dtype=torch.long)
    with pytest.raises(ValueError, match="num_layers=2 is not supported"):
        state_gradients(build_model(TASK, "gru", num_layers=2), TASK, inputs, targets)
    with pytest.raises(ValueError, match="bidirectional=True is not supported"):
        state_gradients(build_model(TASK, "srn", bidirectional=True), TASK, inputs, targets)
    with pytest.raises(ValueError, match="perturbed state='c' is not allowed; choose one of h"):
        sequence_losses(build_model(TASK, "srn"), TASK, inputs, targets, perturb=(0, "c", torch.zeros(2, 32)))
    with pytest.raises(ValueError, match="t=5 is not allowed; it must be in 0..4"):
        sequence_losses(build_model(TASK, "srn"), TASK, inputs, targets, perturb=(5, "h", torch.zeros(2, 32)))


def test_init_is_the_runs_starting_point_and_best_is_its_trained_checkpoint(tiny_store):
    folder = next(p for p in sorted(tiny_store.runs_dir.iterdir()) if load_run(p).config.cell == "lstm")
    saved = load_run(folder, execution="transparent")
    init, again = (model_for(saved.config, execution="transparent").state_dict() for _ in range(2))
    trainer_start = model_for(saved.config).state_dict()  # what train_pack starts from (fused)
    best = saved.model.state_dict()
    assert init.keys() == best.keys() == trainer_start.keys()
    assert all(torch.equal(init[k], again[k]) and torch.equal(init[k], trainer_start[k]) for k in init)
    assert not all(torch.equal(init[k], best[k]) for k in init)

    profiles = {checkpoint: run_profile(folder, checkpoint) for checkpoint in ("best", "init")}
    test = TASK.make_data(5, saved.config.seed).test
    model = model_for(saved.config, execution="transparent")
    expected = state_gradients(model, TASK, test.inputs, test.targets)
    for state in ("h", "c"):
        rows = profiles["init"][profiles["init"]["state"] == state]
        assert rows["t"].tolist() == [0, 1, 2, 3, 4] and rows["distance"].tolist() == [4, 3, 2, 1, 0]
        assert rows["grad_norm"].to_numpy() == pytest.approx(expected[state].double().mean(0).numpy(), rel=1e-12)
    assert list(profiles["best"].columns) == [
        "run_id",
        "cell",
        "seq_len",
        "seed",
        "task",
        "checkpoint",
        "state",
        "t",
        "distance",
        "grad_norm",
    ]
    assert set(profiles["best"]["checkpoint"]) == {"best"} and set(profiles["best"]["run_id"]) == {folder.name}
    assert not profiles["best"]["grad_norm"].to_numpy() == pytest.approx(
        profiles["init"]["grad_norm"].to_numpy(), rel=1e-3
    )
    with pytest.raises(ValueError, match="checkpoint='last' is not allowed; choose one of best, init"):
        run_profile(folder, "last")


def test_decay_rate_recovers_a_known_exponential_and_the_table_summarises_seeds():
    steps = 12
    rows = []
    for seed, rate in enumerate((-0.3, -0.2, -0.4)):
        for state in ("h", "c"):
            distance = torch.arange(steps - 1, -1, -1).double()
            norm = 2.5 * torch.exp(rate * distance)
            if state == "c":
                norm[-1] = 0.0  # as the LSTM's c at the last step: left out of the fit
            rows.append(
                pd.DataFrame(
                    dict(
                        run_id=f"run{seed}",
                        task="nndl",
                        cell="lstm",
                        seq_len=steps,
                        seed=seed,
                        checkpoint="best",
                        state=state,
                        t=range(steps),
                        distance=distance.numpy(),
                        grad_norm=norm.numpy(),
                    )
                )
            )
    rates = decay_rates(pd.concat(rows, ignore_index=True))
    assert rates["state"].tolist() == ["h", "c"] * 3
    assert rates["rate"].to_numpy() == pytest.approx([-0.3, -0.3, -0.2, -0.2, -0.4, -0.4], abs=1e-12)
    assert rates["points"].tolist() == [12, 11] * 3
    table = decay_table(rates)
    assert table["state"].tolist() == ["h", "c"] and table["n"].tolist() == [3, 3]
    half = t975(2) * 0.1 / math.sqrt(3)
    for _, row in table.iterrows():
        assert (row["mean"], row["std"]) == pytest.approx((-0.3, 0.1), abs=1e-12)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((-0.3 - half, -0.3 + half), abs=1e-12)


def test_the_command_refuses_a_missing_folder_in_one_line(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main([str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and str(missing) in err
    done = subprocess.run(
        [sys.executable, "-m", "memorybench", "diagnose", "through-time", str(missing)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=120,
    )
    assert (
        done.returncode == 2
        and "Traceback" not in done.stderr
        and done.stderr.count("\n") == 1
        and not missing.exists()
    )


def test_the_folder_gets_mean_profiles_decay_rates_and_a_figure_the_same_each_time(tiny_store, capsys):
    written = write_through_time(tiny_store.root)
    tables, figure = tiny_store.tables_dir, tiny_store.root / "figures" / "grad_through_time" / "nndl_L5.png"
    assert written == [tables / "grad_through_time.csv", tables / "grad_decay.csv", figure]
    assert figure.read_bytes().startswith(b"\x89PNG")
    profile = pd.read_csv(tables / "grad_through_time.csv")
    assert list(profile.columns) == [
        "experiment",
        "task",
        "cell",
        "seq_len",
        "checkpoint",
        "state",
        "t",
        "distance",
        "n",
        "grad_norm",
        "grad_norm_std",
    ]
    # SRN: 2 checkpoints x h x 5 steps; LSTM: 2 checkpoints x (h, c) x 5 steps; cells in registry order
    assert len(profile) == 10 + 20 and profile["cell"].tolist() == ["srn"] * 10 + ["lstm"] * 20
    assert set(profile["n"]) == {len(SEEDS)} and set(profile["experiment"]) == {"nndl, steps=20, eval_interval=10"}
    runs = [p for p in sorted(tiny_store.runs_dir.iterdir()) if load_run(p).config.cell == "srn"]
    by_hand = pd.concat([run_profile(p, "init") for p in runs]).query("t == 2")["grad_norm"].mean()
    at = profile.query("cell == 'srn' and checkpoint == 'init' and t == 2")
    assert at["grad_norm"].item() == pytest.approx(by_hand, rel=1e-12)
    decay = pd.read_csv(tables / "grad_decay.csv")
    assert decay[["cell", "checkpoint", "state"]].values.tolist() == [
        ["srn", "best", "h"],
        ["srn", "init", "h"],
        ["lstm", "best", "h"],
        ["lstm", "best", "c"],
        ["lstm", "init", "h"],
        ["lstm", "init", "c"],
    ]
    assert set(decay["n"]) == {2} and decay["mean"].notna().all() and (decay["ci_low"] <= decay["ci_high"]).all()

    before = {path: path.read_bytes() for path in written[:2]}
    assert main([str(tiny_store.root)]) == 0
    out = capsys.readouterr().out
    assert all(str(path) in out for path in written)
    assert all(path.read_bytes() == content for path, content in before.items())  # same runs, same bytes


def test_the_report_shows_the_decay_table_once_the_folder_is_profiled(tiny_store, tmp_path):
    import shutil

    from memorybench.report.build import build_report

    root = shutil.copytree(tiny_store.root, tmp_path / "copy")
    for generated in ("tables", "figures"):  # the shared store may have been profiled by another test
        shutil.rmtree(root / generated, ignore_errors=True)
    assert "## Gradients through time" not in build_report(root).read_text()
    write_through_time(root)
    text = build_report(root).read_text().split("## Gradients through time")[1]
    decay = pd.read_csv(root / "tables" / "grad_decay.csv").set_index(["cell", "checkpoint", "state"])
    srn_init = decay.loc[("srn", "init", "h")]
    assert (
        f"| SRN | initialisation | h | {srn_init['mean']:+.2f} [{srn_init['ci_low']:+.2f}, {srn_init['ci_high']:+.2f}] (n=2) |"
        in text
    )
    assert "figures/grad_through_time/nndl_L5.png" in text
