import pandas as pd
import pytest

from memorybench.diagnostics.explosion import LOG_FILE, explosion_configs, role_of, train_logged
from memorybench.diagnostics.explosion_command import main
from memorybench.models import model_for
from memorybench.storage.store import ResultsStore


def test_the_book_srn_logs_w_u_b_raw_and_each_is_clipped_alone():
    # one SGD step: each recurrent parameter moves by lr x its clipped gradient, whose norm is min(raw, 5)
    config = explosion_configs(["srn_book"], seeds=1, steps=1)[1]
    assert config.clip == "per_param" and config.clip_value == 5.0 and config.loss_reduction == "sum"
    output, table = train_logged(config)
    raw = table.set_index("parameter")["grad_norm"]
    assert list(raw.index) == ["W", "U", "b"] and (table["step"] == 1).all()
    before = model_for(config).state_dict()
    for role, name in (("W", "rnn.weight_ih_l0"), ("U", "rnn.weight_hh_l0"), ("b", "rnn.bias_l0")):
        moved = (output.state_dict[name] - before[name]).norm().item() / config.lr
        assert moved == pytest.approx(min(raw[role], 5.0), rel=1e-4)
    assert raw.max() > 5.0  # the summed loss of 64 sequences: at least one parameter is clipped at step 1


def test_roles_name_the_books_parameters():
    assert [
        role_of(n)
        for n in (
            "rnn.weight_ih_l0",
            "rnn.weight_hh_l0",
            "rnn.bias_l0",
            "rnn.bias_ih_l0",
            "rnn.bias_hh_l0",
            "head.weight",
            "embedding.weight",
            "rnn.weight_hh_l1",
        )
    ] == ["W", "U", "b", "b", None, None, None, None]


def test_a_cell_names_its_own_roles_in_its_spec(monkeypatch):
    from dataclasses import replace

    from memorybench.cells import CELLS, get_cell

    monkeypatch.setitem(
        CELLS, "mine", replace(get_cell("srn"), name="mine", roles=(("U", ("recurrent",)), ("W", ("weight_ih",))))
    )
    assert [role_of(n, "mine") for n in ("rnn.recurrent_l0", "rnn.weight_ih_l0", "rnn.weight_hh_l0")] == [
        "U",
        "W",
        None,
    ]


@pytest.mark.slow
def test_the_command_stores_runs_with_their_norms_writes_the_report_and_resumes(tmp_path, capsys):
    out = tmp_path / "explosion"
    assert main(["--cells", "srn_book", "lstm", "--seeds", "2", "--steps", "12", "--out", str(out)]) == 0
    store = ResultsStore(out)
    runs, _ = store.collect()
    assert len(runs) == 8 and set(runs["clip"]) == {"none", "per_param"} and set(runs["seq_len"]) == {20}
    for run_id in runs["run_id"]:
        norms = pd.read_csv(out / "runs" / run_id / LOG_FILE)
        assert sorted(norms["step"].unique()) == list(range(1, 13)) and sorted(norms["parameter"].unique()) == [
            "U",
            "W",
            "b",
        ]
    report = (out / "report.md").read_text()
    assert "## Gradient explosion (book section 6.2)" in report and "SRN (one bias)" in report
    for name in ("norms_no_clip.png", "norms_clipped.png", "accuracy.png", "per_seed.png"):
        assert (out / "figures" / "explosion" / name).stat().st_size > 1000
    summary = pd.read_csv(out / "tables" / "explosion_norms.csv")
    assert len(summary) == 2 * 2 * 3 and (summary["seeds"] == 2).all()
    per_seed = pd.read_csv(out / "tables" / "explosion_norms_per_seed.csv")
    assert len(per_seed) == 2 * 2 * 3 * 2 and "peak, first 40 steps" in report and "two groups" in report
    capsys.readouterr()
    assert main(["--cells", "srn_book", "lstm", "--seeds", "2", "--steps", "12", "--out", str(out)]) == 0
    assert "\n0 runs trained, 8 already stored" in capsys.readouterr().out  # after the plan line


def test_each_seed_is_summarised_and_a_median_over_two_groups_is_flagged():
    from memorybench.diagnostics.explosion import norm_rows, norm_summary, per_seed_norms

    # 4 seeds of one parameter, 60 steps: a peak at step 2 + seed, late norms of 1, 2, 40, 90 (two groups)
    rows = []
    for seed, late in enumerate([1.0, 2.0, 40.0, 90.0]):
        rows += [
            dict(
                cell="srn_book",
                clip="per_param",
                parameter="W",
                seed=seed,
                step=step,
                grad_norm=100.0 + seed if step == 2 + seed else late,
            )
            for step in range(1, 61)
        ]
    per_seed = per_seed_norms(pd.DataFrame(rows))
    assert per_seed["peak_step"].tolist() == [2, 3, 4, 5] and per_seed["mean_last_50"].tolist() == [
        1.0,
        2.0,
        40.0,
        90.0,
    ]
    row = norm_summary(per_seed).iloc[0]
    assert (row["mean_last_50"], row["peak_step"], row["peak_step_min"], row["peak_step_max"]) == (21.0, 3.5, 2, 5)
    assert (
        row["mean_last_50_low"] <= 21.0 <= row["mean_last_50_high"]
        and row["mean_last_50_bimodal"]
        and not row["peak_first_40_bimodal"]
    )
    shown = norm_rows(norm_summary(per_seed)).iloc[0]
    assert shown["two groups"] == "last 50" and shown["peak step (range)"] == "3.5 (2–5)"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seeds", "0"], "seed count 0 is too small (allowed: integers >= 1)"),
        (["--cells", "rnn"], "argument --cells: invalid choice: 'rnn'"),
        (["--steps", "x"], "step count 'x' is not an integer"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "x").exists()


def test_a_foreign_folder_is_refused_and_left_alone(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["--seeds", "1", "--steps", "2", "--out", str(tmp_path)]) == 2
    assert "is not empty and was not made by memorybench" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"] and (tmp_path / "notes.txt").read_text() == "mine"


def test_ctrl_c_is_one_line_naming_what_is_stored(tmp_path, monkeypatch, capsys):
    import os
    import signal
    import time

    from memorybench.diagnostics import explosion

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C
        time.sleep(10)

    monkeypatch.setattr(explosion, "run_explosion", interrupted)
    assert main(["--seeds", "1", "--out", str(tmp_path / "out")]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"interrupted: the runs finished before it are stored in {tmp_path / 'out'}; re-run the same command" in err
