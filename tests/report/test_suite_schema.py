"""suite.json against its published JSON Schema (docs/reference/suite.schema.json), and every committed entry's
labels against the runs it reads: the lengths and seeds tested, the shortest length, the source, the cap and the
provenance come from those runs, never from a folder-wide default."""

import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from memorybench.analysis.recipes import with_recipes
from memorybench.report.suite import read_suite, write_suite
from memorybench.storage.rundir import read_run
from memorybench.storage.store import ResultsStore
from memorybench.tasks import get_task
from tests.report.test_suite import two_tasks  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "reference" / "suite.schema.json").read_text())
COMMITTED = ROOT / "results" / "suite" / "suite.json"


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_committed_suite_follows_the_schema():
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(COMMITTED.read_text()))


def test_a_freshly_written_suite_follows_the_schema_and_a_wrong_field_does_not(two_tasks, tmp_path):  # noqa: F811
    write_suite(list(two_tasks), tmp_path / "suite")
    suite = read_suite(tmp_path / "suite" / "suite.json")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    validator.validate(suite)
    suite["entries"][0]["lengths_tested"] = [[10, "3"]]
    with pytest.raises(jsonschema.ValidationError, match="'3' is not of type 'integer'"):
        validator.validate(suite)


def committed_runs():
    """(entry, the runs it reads) for every committed entry, read back from its folder."""
    runs_of = {}
    for entry in read_suite(COMMITTED)["entries"]:
        folder = ROOT / entry["folder"]
        if folder not in runs_of:
            runs_of[folder] = ResultsStore(folder).collect()[0]
        runs = runs_of[folder]
        mine = runs[(runs["protocol"] == entry["protocol"]) & (runs["cell"] == entry["cell"])]
        if entry.get("recipe_picks"):  # a best of N recipes reads the recipe picked at each length
            picked = pd.DataFrame(entry["recipe_picks"], columns=["seq_len", "recipe"])
            mine = with_recipes(mine).merge(picked, on=["seq_len", "recipe"])
        if entry["measure"] == "memory_capacity":
            mine = mine[mine["hidden_size"] == entry["n"]]
        yield entry, folder, mine


@pytest.mark.slow  # reads every committed folder (about 1,300 runs): 10 s on 2 cores
def test_every_committed_entrys_labels_come_from_its_runs():
    for entry, folder, mine in committed_runs():
        where = f"{entry['folder']} {entry['cell']}"
        seeds = mine.groupby("seq_len")["seed"].nunique()
        if entry["measure"] != "memory_capacity":
            assert entry["lengths_tested"] == [[int(n), int(s)] for n, s in seeds.items()], where
            read = (
                mine[mine["seq_len"] >= get_task(entry["task"]).horizon_from] if entry["measure"] == "horizon" else mine
            )
            assert entry["runs"] == len(read), where  # the runs its readings read (a task's reading rule applied)
        if entry["measure"] == "horizon":
            assert entry["shortest_tested"] == int(read["seq_len"].min()), where  # the shortest length read
            assert entry["min_length"] <= entry["shortest_tested"] and entry["cap"] >= int(read["seq_len"].max())
            searched = (folder / "tables" / "search_horizons.csv").is_file() and (
                (pd.read_csv(folder / "tables" / "search_horizons.csv")["cell"] == entry["cell"]).any()
            )
            assert entry["source"] == ("search" if searched else "grid"), where
        envs = [read_run(ResultsStore(folder).run_folder(r)).environment for r in mine["run_id"]]
        provenance = entry["provenance"]
        assert provenance["commits"] == sorted({e.get("commit", "") for e in envs}), where
        assert provenance["torch"] == sorted({e.get("torch", "") for e in envs}), where
        assert provenance["cpu_counts"] == sorted({e["cpu_count"] for e in envs if e.get("cpu_count")}), where
