"""Associative recall: the generator against its definition, the baseline from the generator's own
statistics, the threshold's reading, determinism and streams, parameter checks, training."""

import math

import pytest
import torch
import torch.nn.functional as F

from memorybench.config import RunConfig, protocol_config
from memorybench.engine.loop import train_pack
from memorybench.tasks import get_task
from memorybench.tasks.associative_recall import (
    ASSOCIATIVE_RECALL,
    associative_recall_task,
    make_associative_recall_batch,
    make_associative_recall_data,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def logits(classes: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    return F.one_hot(classes, num_classes).double() * 10.0


# --- data ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seq_len, keys, values", [(1, 64, 10), (3, 8, 4), (8, 8, 2), (20, 64, 10), (64, 64, 10)])
def test_the_target_is_the_value_paired_with_the_query(seq_len, keys, values):
    batch = make_associative_recall_batch(300, seq_len, keys, values, gen())
    x, y = batch.inputs, batch.targets
    assert x.shape == (300, 2 * seq_len + 2) and y.shape == (300,) and x.dtype == y.dtype == torch.int64
    assert (x[:, 2 * seq_len] == keys + values).all()  # the separator
    for row, target in zip(x.tolist(), y.tolist()):
        pair_keys, pair_values, query = row[0 : 2 * seq_len : 2], row[1 : 2 * seq_len : 2], row[-1]
        assert all(0 <= k < keys for k in pair_keys) and len(set(pair_keys)) == seq_len  # distinct keys
        assert all(keys <= v < keys + values for v in pair_values)
        assert query in pair_keys and target == dict(zip(pair_keys, pair_values))[query] - keys  # the definition


def test_keys_values_and_the_queried_pair_are_uniform():
    x = make_associative_recall_batch(20000, 4, 8, 5, gen(1)).inputs
    keys, values, query = x[:, 0:8:2], x[:, 1:8:2] - 8, x[:, -1]
    assert torch.allclose(
        torch.bincount(keys.flatten(), minlength=8).float() / keys.numel(), torch.full((8,), 1 / 8), atol=0.01
    )
    assert torch.allclose(
        torch.bincount(values.flatten(), minlength=5).float() / values.numel(), torch.full((5,), 1 / 5), atol=0.01
    )
    asked = (keys == query[:, None]).float().argmax(1)  # which pair was queried
    assert torch.allclose(torch.bincount(asked, minlength=4).float() / len(x), torch.full((4,), 1 / 4), atol=0.015)


# --- baseline and threshold ----------------------------------------------------------------------


def test_the_memoryless_baseline_is_what_the_generators_statistics_allow():
    y = make_associative_recall_data(5, seed=2, eval_size=40000).test.targets
    assert torch.bincount(y, minlength=10).max().item() / len(y) == pytest.approx(ASSOCIATIVE_RECALL.baseline, abs=0.01)
    small = make_associative_recall_batch(40000, 3, 4, 4, gen(3))  # 4 keys: 10,000 sequences per query key
    query, target = small.inputs[:, -1], small.targets
    best = sum(torch.bincount(target[query == k], minlength=4).max().item() for k in range(4)) / len(target)
    assert best == pytest.approx(
        1 / 4, abs=0.015
    )  # the best answer from the query key alone (the last input) is chance
    assert ASSOCIATIVE_RECALL.score(logits(torch.zeros_like(y)), y).item() == pytest.approx(0.1, abs=0.01)
    assert (
        ASSOCIATIVE_RECALL.loss(torch.zeros(len(y), 10), y).item()
        == pytest.approx(math.log(10))
        == ASSOCIATIVE_RECALL.loss_baseline(5)
    )


def test_holding_half_the_bindings_scores_halfway():
    batch = make_associative_recall_batch(40000, 8, 64, 10, gen(4))
    x, y = batch.inputs, batch.targets
    asked = (x[:, 0:16:2] == x[:, -1:]).float().argmax(1)
    held = torch.where(asked >= 4, y, torch.randint(0, 10, y.shape, generator=gen(5)))  # the last 4 of 8 pairs held
    assert ASSOCIATIVE_RECALL.score(logits(held), y).item() == pytest.approx(ASSOCIATIVE_RECALL.threshold, abs=0.01)
    assert ASSOCIATIVE_RECALL.threshold == pytest.approx(0.55)


# --- declarations and checks ---------------------------------------------------------------------


def test_registered_task_and_ba_et_als_letters_and_digits():
    task = get_task("associative_recall")
    assert task is ASSOCIATIVE_RECALL
    assert (task.input_kind, task.input_size, task.output_kind, task.output_size, task.metric) == (
        "tokens",
        75,
        "class",
        10,
        "accuracy",
    )
    assert (task.min_seq_len, task.fresh_batches, task.unscored_class) == (1, True, None)
    ba = associative_recall_task(keys=26, values=10, name="associative_recall_ba")
    assert (ba.input_size, ba.output_size, ba.baseline) == (37, 10, 0.1)
    assert ba.make_data(26, 0, eval_size=3).dev.inputs.shape == (3, 54)
    with pytest.raises(ValueError, match="seq_len=27 .*at most keys=26"):
        ba.make_data(27, 0)


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (
            make_associative_recall_data,
            dict(seq_len=0, seed=0),
            r"seq_len=0 is not allowed; it must be an integer >= 1",
        ),
        (
            make_associative_recall_data,
            dict(seq_len=65, seed=0),
            r"seq_len=65 is not allowed; the keys of a sequence are distinct, so it holds at most keys=64 pairs",
        ),
        (make_associative_recall_data, dict(seq_len=5, seed=0, values=1), r"values=1 .*>= 2"),
        (make_associative_recall_data, dict(seq_len=5, seed=-1), "seed=-1"),
        (make_associative_recall_data, dict(seq_len=5, seed=0, eval_size=0), r"eval_size=0 .*>= 1"),
        (associative_recall_task, dict(keys=0), r"keys=0 .*>= 1"),
    ],
)
def test_bad_parameters_raise_one_line_errors(make, kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        make(**kwargs)
    assert "\n" not in str(error.value)


def test_trains_end_to_end():
    config = protocol_config("associative_recall", cell="lstm", seq_len=3, steps=20, eval_interval=10, device="cpu")
    assert RunConfig.from_dict(config.to_dict()) == config
    (output,) = train_pack([config])
    result = output.result
    assert result.status == "ok" and [c["step"] for c in result.curves] == [10, 20] and 0.0 <= result.test_score <= 1.0
