"""The tinygrad-lr command on tests/data/houses.csv, a small table as people have them: semicolon-
separated, with an ID column, an empty cell (line 19) and an NA (line 43). Delimiters, column
choice, missing values, convergence and divergence, saved models and prediction; no
scikit-learn needed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lr
from tinygrad_lr import cli

HOUSES = str(Path(__file__).parent / "data" / "houses.csv")
FEATURES = "area_m2,rooms,age_years,distance_km"
FIT = ["--csv", HOUSES, "--target", "price_k", "--columns", FEATURES]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(result: tuple[int, str, str], *fragments: str) -> None:
    code, out, err = result
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith("tinygrad-lr: error: ")
    for fragment in fragments:
        assert fragment in err, err


def houses_table() -> tuple[list[str], list[list[str]]]:
    lines = Path(HOUSES).read_text().splitlines()
    return lines[0].split(";"), [line.split(";") for line in lines[1:]]


def test_missing_values_are_an_error_naming_the_line_unless_dropped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    one_line_error(run(capsys, *FIT), "houses.csv:19: column 'distance_km' is empty",
                   "--missing drop")  # fmt: skip
    code, out, err = run(capsys, *FIT, "--missing", "drop", "--json")
    result = json.loads(out)
    assert code == 0 and err == "" and result["data"]["dropped_lines"] == [19, 43]
    assert result["data"]["rows"] == 58 and result["options"]["delimiter"] == ";"
    # only the columns in use count: without distance_km and age_years nothing is missing
    code, out, _ = run(capsys, "--csv", HOUSES, "--target", "price_k", "--columns",
                       "area_m2,rooms", "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["data"]["rows"] == 60


def test_the_fit_matches_the_closed_form_of_the_rows_it_kept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    names, rows = houses_table()
    used = [names.index(n) for n in [*FEATURES.split(","), "price_k"]]
    kept = np.array(
        [[float(r[i]) for i in used] for r in rows if all(r[i] not in ("", "NA") for i in used)]
    )
    design = np.hstack([kept[:, :-1], np.ones((len(kept), 1))])
    solution, *_ = np.linalg.lstsq(design, kept[:, -1], rcond=None)
    mse = float(np.mean((design @ solution - kept[:, -1]) ** 2))
    code, out, _ = run(capsys, *FIT, "--missing", "drop", "--json")
    result = json.loads(out)
    assert code == 0 and result["status"] == "converged"
    assert list(result["closed_form"]["coefficients"].values()) == pytest.approx(solution[:-1])
    assert result["closed_form"]["mse"] == pytest.approx(mse) and result["mse"] <= 1.01 * mse


def test_an_id_column_must_be_left_out_with_columns(capsys: pytest.CaptureFixture[str]) -> None:
    one_line_error(run(capsys, "--csv", HOUSES, "--target", "price_k"),
                   ":2: column 'id' has 'H001', which is not a number", "--columns")  # fmt: skip
    one_line_error(
        run(capsys, *FIT[:-1], "area_m2,floor"), "no column named 'floor' (from --columns)"
    )
    one_line_error(run(capsys, *FIT[:-1], "area_m2,price_k"), "includes the target 'price_k'")
    one_line_error(run(capsys, *FIT[:-1], "rooms,rooms"), "names rooms more than once")


def test_a_wrong_delimiter_is_named_and_can_be_overridden(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one_line_error(run(capsys, *FIT, "--delimiter", ","), "no column named 'price_k'",
                   "is the delimiter right?")  # fmt: skip
    code, out, _ = run(capsys, *FIT, "--delimiter", "semicolon", "--missing", "drop", "--json")
    assert code == 0 and json.loads(out)["options"]["delimiter"] == ";"
    # decimal commas inside a semicolon file: detection still picks the semicolon
    european = tmp_path / "european.csv"
    european.write_text("x;y\n1,5;2\n2,5;3\n3,5;4,5\n")
    one_line_error(run(capsys, "--csv", str(european), "--target", "y"),
                   ":2: column 'x' has '1,5', which is not a number")  # fmt: skip
    ragged = tmp_path / "ragged.tsv"
    ragged.write_text("x\ty\n1\t2\n3\t4\t5\n")
    one_line_error(run(capsys, "--csv", str(ragged), "--target", "y"),
                   ":3: expected 2 values", "found 3 with the detected delimiter tab")  # fmt: skip


def test_raw_features_of_different_scales_diverge_and_the_message_says_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, *FIT, "--missing", "drop", "--no-standardize")
    assert (
        code == 1
        and "--no-standardize trains on the raw features" in err
        and "converged" not in out
    )
    assert "'area_m2' has values of size" in err and "Drop --no-standardize" in err


def test_a_saved_model_applies_to_new_rows_and_needs_its_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "houses.json"
    code, out, _ = run(capsys, *FIT, "--missing", "drop", "--save-model", str(model))
    assert code == 0 and f"model saved to {model}" in out
    saved = json.loads(model.read_text())
    assert saved["features"] == FEATURES.split(",") and saved["target"] == "price_k"
    assert len(saved["standardization"]["mean"]) == 4 and [p.name for p in tmp_path.iterdir()] == [
        "houses.json"
    ]  # written atomically: no temporary file left
    new = tmp_path / "new.csv"
    new.write_text("id,rooms,area_m2,age_years,distance_km\nA,3,90,10,5\nB,1,40,60,20\n")
    code, out, err = run(capsys, "--predict", str(model), "--csv", str(new))
    header, *rows = [line.split(",") for line in out.splitlines()]
    assert code == 0 and err == "" and header[-1] == "prediction" and len(rows) == 2
    x = np.array([[90, 3, 10, 5], [40, 1, 60, 20]], dtype=float)
    np.testing.assert_allclose([float(r[-1]) for r in rows], x @ saved["w"] + saved["b"])
    assert rows[0][:5] == ["A", "3", "90", "10", "5"]  # the row as it was
    output = tmp_path / "predicted.csv"
    code, out, _ = run(capsys, "--predict", str(model), "--csv", str(new), "--output", str(output))
    assert code == 0 and out.startswith("wrote 2 rows with predictions of price_k")
    assert output.read_text().splitlines()[1] == ",".join(rows[0])
    lacking = tmp_path / "lacking.csv"
    lacking.write_text("rooms;area_m2\n3;90\n")
    one_line_error(run(capsys, "--predict", str(model), "--csv", str(lacking)),
                   "needs the column(s) age_years, distance_km, which the file lacks")  # fmt: skip
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "tinygrad-lr linear regression", "features": ["a"], "w": []}')
    one_line_error(run(capsys, "--predict", str(broken), "--csv", str(new)), "damaged")
    one_line_error(run(capsys, "--predict", str(new), "--csv", str(new)), "not a JSON model file")
    one_line_error(run(capsys, "--predict", str(model), "--csv", str(new), "--target", "y"),
                   "--target does not apply to --predict")  # fmt: skip


def test_output_paths_are_checked_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one_line_error(run(capsys, *FIT, "--save-model", str(tmp_path / "no" / "m.json")),
                   "--save-model", "does not exist")  # fmt: skip
    one_line_error(run(capsys, *FIT, "--save-model", str(tmp_path)), "is a directory")


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out == f"tinygrad-lr {tinygrad_lr.__version__}\n"
    code, out, _ = run(capsys, "--help")
    text = re.sub(r"\s+", " ", out)
    assert code == 0
    for phrase in ("predictions against the targets", "half the mean squared error",
                   "--predict", "--save-model", "--test-fraction", "--missing", "--delimiter",
                   "--columns", "--progress", "1% above the closed form"):  # fmt: skip
        assert phrase in text, phrase
