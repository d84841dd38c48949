"""The tinygrad-lr command on a real table, scikit-learn's diabetes data (442 rows, 10
features): convergence to the closed form, divergence and its cause, the hold-out, a saved
model applied to new rows. Skipped without scikit-learn; tests/data/houses.csv covers the same
behaviours in test_cli_tables.py."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lr import cli


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def closed_form(features: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Least squares by the normal equations (not lstsq, as the command uses): w, b, MSE."""
    design = np.hstack([features, np.ones((features.shape[0], 1))])
    solution = np.linalg.solve(design.T @ design, design.T @ target)
    residual = design @ solution - target
    return solution[:-1], float(solution[-1]), float(np.mean(residual**2))


def test_the_defaults_fit_the_standardised_table_to_within_1_percent(
    capsys: pytest.CaptureFixture[str], diabetes_csv: Callable[[str], str], diabetes
) -> None:
    names, features, target = diabetes
    code, out, err = run(capsys, "--csv", diabetes_csv(","), "--target", "target", "--json")
    assert code == 0 and err == ""
    result = json.loads(out)
    w, b, mse = closed_form(features, target)
    assert result["closed_form"]["bias"] == pytest.approx(b, rel=1e-6)
    assert result["closed_form"]["mse"] == pytest.approx(mse, rel=1e-9)
    assert list(result["closed_form"]["coefficients"].values()) == pytest.approx(w, rel=1e-6)
    assert result["status"] == "converged" and result["converged"] is True
    assert mse <= result["mse"] <= 1.01 * mse
    r2 = 1 - mse / np.var(target)
    assert result["closed_form"]["r2"] == pytest.approx(r2, rel=1e-9)
    assert result["r2"] <= r2 and result["r2"] == pytest.approx(r2, abs=0.01)
    # the fit's own numbers agree with its coefficients
    coefficients = np.array([result["coefficients"][name] for name in names])
    predictions = features @ coefficients + result["bias"]
    assert result["mse"] == pytest.approx(np.mean((predictions - target) ** 2), rel=1e-9)
    assert result["options"]["standardize"] is True and result["stopped"] == "plateau"
    assert result["epochs_run"] < result["options"]["epochs"] == 1000
    assert min(result["losses"]) == pytest.approx(result["mse"] / 2, rel=1e-9)  # half the MSE
    assert result["options"]["standardization"]["mean"] == pytest.approx(features.mean(axis=0))


def test_the_text_summary_names_every_figure(
    capsys: pytest.CaptureFixture[str], diabetes_csv: Callable[[str], str]
) -> None:
    code, out, err = run(capsys, "--csv", diabetes_csv(","), "--target", "target")
    assert code == 0 and err == ""
    assert "rows of" in out and "standardised features" in out and "half the MSE" in out
    assert re.search(r"^stopped after \d+ epochs: the loss has not improved", out, re.M)
    fit = re.search(r"^fit, training rows: +MSE (\S+), R\^2 (\S+)$", out, re.M)
    exact = re.search(r"^closed form \(lstsq\): +MSE (\S+), R\^2 (\S+)$", out, re.M)
    assert fit and exact and float(fit.group(1)) <= 1.01 * float(exact.group(1))
    assert len(re.findall(r"^w\[\w+\] +\S+ +\S+$", out, re.M)) == 10
    assert re.search(r"^converged: the fit's MSE is \S+% above the closed form's", out, re.M)
    assert len(re.findall(r"^epoch \d+, loss", out, re.M)) < 40  # a long run stays readable


@pytest.mark.parametrize(
    ("options", "cause"),
    [
        (["--lr", "1"], "the learning rate 1 is too large"),
        (["--no-standardize", "--lr", "0.0001"], "--no-standardize trains on the raw features"),
    ],
)
def test_divergence_exits_1_naming_the_likely_cause(
    capsys: pytest.CaptureFixture[str],
    diabetes_csv: Callable[[str], str],
    options: list[str],
    cause: str,
) -> None:
    path = diabetes_csv(",")
    code, out, err = run(capsys, "--csv", path, "--target", "target", *options)
    assert code == 1 and "training diverged" in err and cause in err and err.count("\n") == 1
    assert "converged" not in out
    code, out, err = run(capsys, "--csv", path, "--target", "target", *options, "--json")
    result = json.loads(out)
    assert code == 1 and result["status"] == "diverged" and result["converged"] is False
    assert cause in err


def test_a_run_that_ends_far_from_the_closed_form_warns_with_what_to_try(
    capsys: pytest.CaptureFixture[str], diabetes_csv: Callable[[str], str]
) -> None:
    path = diabetes_csv(",")
    code, out, err = run(capsys, "--csv", path, "--target", "target", "--optimizer", "adam",
                         "--epochs", "20", "--json")  # fmt: skip
    result = json.loads(out)
    assert code == 0 and result["status"] == "not_converged" and result["converged"] is False
    assert result["mse"] > 1.01 * result["closed_form"]["mse"]
    assert err.startswith("tinygrad-lr: warning: not converged: the fit's MSE")
    assert "more --epochs than 20" in err and "larger --lr" in err


def test_adam_by_default_trains_until_it_reaches_the_closed_form(
    capsys: pytest.CaptureFixture[str], diabetes_csv: Callable[[str], str]
) -> None:
    code, out, err = run(capsys, "--csv", diabetes_csv(","), "--target", "target",
                         "--optimizer", "adam", "--json")  # fmt: skip
    result = json.loads(out)
    assert code == 0 and err == "" and result["status"] == "converged"
    assert result["bias"] == pytest.approx(result["closed_form"]["bias"], rel=0.5)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_detected(
    capsys: pytest.CaptureFixture[str], diabetes_csv: Callable[[str], str], delimiter: str
) -> None:
    code, out, _ = run(capsys, "--csv", diabetes_csv(delimiter), "--target", "target",
                       "--epochs", "2", "--json")  # fmt: skip
    result = json.loads(out)
    assert code == 0 and result["options"]["delimiter"] == delimiter
    assert result["data"]["rows"] == 442 and len(result["data"]["features"]) == 10


def test_held_out_rows_are_reported(
    capsys: pytest.CaptureFixture[str], diabetes_csv: Callable[[str], str], diabetes
) -> None:
    _, features, target = diabetes
    args = ["--csv", diabetes_csv(","), "--target", "target", "--test-fraction", "0.2", "--json"]
    code, out, _ = run(capsys, *args)
    first = json.loads(out)
    assert code == 0 and first["test"]["rows"] == 88 and first["data"]["training_rows"] == 354
    assert 0 < first["test"]["r2"] < 1 and first["test"]["mse"] > 0
    # the training metrics come from the training rows only: a closed form on all 442 rows
    # fits better than the one the command reports
    assert first["closed_form"]["mse"] != pytest.approx(closed_form(features, target)[2])
    assert json.loads(run(capsys, *args)[1])["test"] == first["test"]  # the same seed
    other = json.loads(run(capsys, *args, "--seed", "1")[1])["test"]
    assert other["mse"] != first["test"]["mse"]
    code, out, _ = run(capsys, *args[:-1])
    assert re.search(r"^fit, 88 held-out rows: MSE \S+, R\^2 \S+ \(closed form", out, re.M)


def test_a_saved_model_predicts_new_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], diabetes_csv: Callable[[str], str]
) -> None:
    model = tmp_path / "model.json"
    path = diabetes_csv("\t")
    code, out, _ = run(capsys, "--csv", path, "--target", "target", "--save-model", str(model),
                       "--json")  # fmt: skip
    result = json.loads(out)
    saved = json.loads(model.read_text())
    assert code == 0 and saved["features"] == result["data"]["features"]
    assert saved["w"] == list(result["coefficients"].values()) and saved["b"] == result["bias"]
    assert saved["standardization"]["applied"] is True
    code, out, err = run(capsys, "--predict", str(model), "--csv", path)
    lines = out.splitlines()
    assert code == 0 and err == "" and len(lines) == 443
    assert lines[0].split("\t")[-1] == "prediction"
    rows = np.array([[float(v) for v in line.split("\t")] for line in lines[1:]])
    predictions = rows[:, :10] @ np.array(saved["w"]) + saved["b"]
    np.testing.assert_allclose(rows[:, -1], predictions, rtol=1e-12)
    mse = np.mean((rows[:, -1] - rows[:, 10]) ** 2)
    assert mse == pytest.approx(result["mse"], rel=1e-9)
