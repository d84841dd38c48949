"""The tinygrad-lr command: default run, options, CSV input, errors, plot and JSON output."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lr import cli
from tinygrad_lr.cli import report

ROOT = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("tinygrad-lr: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def test_default_run_is_the_d2l_chapter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    assert "loss per epoch: squared loss (y_hat - y)^2/2, half the MSE" in out
    losses = [float(v) for v in re.findall(r"^epoch \d, loss (\d+\.\d{6})$", out, re.M)]
    assert len(losses) == 3 and losses[0] < 0.1 and losses[-1] < 2e-4
    error_w = re.search(r"^error in estimating w: \[(.*)\]$", out, re.M)
    error_b = re.search(r"^error in estimating b: (\S+)$", out, re.M)
    assert error_w and error_b
    assert all(abs(float(v)) < 5e-3 for v in error_w.group(1).split(","))
    assert abs(float(error_b.group(1))) < 5e-3
    gap = re.search(r"^closed-form least squares: .* over w and b: (\S+)$", out, re.M)
    assert gap and float(gap.group(1)) < 5e-3
    fit = re.search(r"^fit, training rows: +MSE (\S+), R\^2 (\S+)$", out, re.M)
    exact = re.search(r"^closed form \(lstsq\): +MSE (\S+), R\^2 (\S+)$", out, re.M)
    assert fit and exact and "converged: " in out
    # the MSE printed is twice the last epoch's loss, and about the noise variance 0.01^2
    assert float(fit.group(1)) == pytest.approx(2 * losses[-1], abs=2e-6)
    assert float(exact.group(1)) == pytest.approx(1e-4, rel=0.2) and float(fit.group(2)) > 0.999


def test_json_output_is_parseable_and_consistent(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--json", "--epochs", "4", "--features", "3", "--seed", "5", "-n", "300"
    )
    assert code == 0
    result = json.loads(out)
    w = np.array(list(result["coefficients"].values()))
    assert len(result["losses"]) == 4 and list(result["coefficients"]) == ["x1", "x2", "x3"]
    assert result["data"]["rows"] == 300 and len(result["data"]["true_w"]) == 3
    errors = np.array(result["data"]["true_w"]) - w
    np.testing.assert_allclose(result["errors"]["w"], errors)
    assert result["mse"] == pytest.approx(2 * result["losses"][-1], rel=1e-9)
    close = result["mse"] <= 1.01 * result["closed_form"]["mse"]
    close = close or result["closed_form"]["r2"] - result["r2"] <= 1e-4
    assert result["status"] == ("converged" if close else "not_converged")
    assert result["converged"] is close
    assert result["options"]["standardize"] is False and result["options"]["epochs"] == 4
    assert result["seconds"] >= 0 and result["closed_form"]["mse"] <= result["mse"]


def test_options_change_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    options = "--json --true-w 1.5 --true-b -2 --noise 0 --epochs 20 --batch-size 32 --lr 0.1"
    code, out, _ = run(capsys, *options.split(), "--optimizer", "adam")
    result = json.loads(out)
    assert code == 0 and result["options"]["optimizer"] == "adam"
    assert result["coefficients"]["x1"] == pytest.approx(1.5, abs=1e-2)
    assert result["bias"] == pytest.approx(-2, abs=1e-2)
    # noise 0: the closed form is exact
    assert result["closed_form"]["coefficients"]["x1"] == pytest.approx(1.5, abs=1e-12)


def write_csv(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_csv_input_fits_the_named_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    size = rng.uniform(20, 200, 400)  # a large scale: standardisation keeps lr 0.03 stable
    rooms = rng.integers(1, 6, 400)
    price = 3.0 * size - 10.0 * rooms + 50 + rng.normal(0, 0.1, 400)
    rows = "\n".join(f"{s:.6f},{p:.6f},{r}" for s, p, r in zip(size, price, rooms))
    path = write_csv(tmp_path / "houses.csv", "size,price,rooms\n" + rows + "\n")
    code, out, err = run(capsys, "--csv", path, "--target", "price", "--epochs", "10", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["data"]["features"] == ["size", "rooms"]
    exact = result["closed_form"]["coefficients"]
    assert list(exact.values()) == pytest.approx([3.0, -10.0], abs=0.01)
    assert result["coefficients"] == pytest.approx(exact, abs=0.05)
    assert "errors" not in result and result["options"]["standardize"] is True
    code, out, _ = run(capsys, "--csv", path, "--target", "price")
    assert code == 0 and re.search(r"^w\[size\] +\S+ +\S+$", out, re.M)
    assert re.search(r"^w\[rooms\] +\S+ +\S+$", out, re.M)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ["the file is empty"]),
        ("\n\n", ["the file is empty"]),
        ("x,y\n", ["no data rows"]),
        ("x,y\n1,2\n3,abc\n", [":3: column 'y' has 'abc', which is not a number"]),
        ("x,y\n1,2\n\n3,4,5\n", [":4: expected 2 values", "found 3"]),
        ("x,y\n1,\n", [":2: column 'y' is empty"]),
        ("x,y\n1,nan\n", [":2: column 'y' has 'nan', a missing value", "--missing drop"]),
        ("x,y\n1,inf\n", [":2: column 'y' has 'inf', which is not a finite number"]),
        ("x,z\n1,2\n", ["no column named 'y'; the columns are x, z"]),
        ("y\n1\n", ["needs at least one feature column"]),
        ("x,x,y\n1,2,3\n", ["duplicate column name(s) x"]),
    ],
)
def test_bad_csv_files_give_one_line_with_the_line_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, fragments: list[str]
) -> None:
    path = write_csv(tmp_path / "data.csv", text)
    plot = tmp_path / "never.png"
    code, out, err = run(capsys, "--csv", path, "--target", "y", "--plot", str(plot))
    assert_one_line_error(code, out, err, *fragments)
    assert not plot.exists() and os.listdir(tmp_path) == ["data.csv"]  # nothing half-written


def test_missing_file_and_argument_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_one_line_error(
        *run(capsys, "--csv", str(tmp_path / "nope.csv"), "--target", "y"), "no such file"
    )
    assert_one_line_error(*run(capsys, "--csv", str(tmp_path), "--target", "y"), "is a directory")
    assert_one_line_error(*run(capsys, "--csv", "data.csv"), "--csv needs --target COLUMN")
    assert_one_line_error(*run(capsys, "--target", "y"), "--target needs --csv")
    assert_one_line_error(*run(capsys, "--lr", "-1"), "--lr", "must be > 0")
    assert_one_line_error(*run(capsys, "--lr", "nan"), "finite")
    assert_one_line_error(*run(capsys, "--batch-size", "0"), "positive integer")
    assert_one_line_error(*run(capsys, "--optimizer", "rmsprop"), "invalid choice")
    assert_one_line_error(
        *run(capsys, "--features", "3", "--true-w", "1,2"), "--true-w has 2 values"
    )
    assert_one_line_error(*run(capsys, "--bogus"), "unrecognized arguments: --bogus")
    assert_one_line_error(*run(capsys, "--epochs", "0"), "--epochs", "positive integer")
    assert_one_line_error(*run(capsys, "--patience", "-3"), "--patience", "positive integer")
    assert_one_line_error(*run(capsys, "-n", "0"), "positive integer")
    for fraction in ("0", "1", "-0.2", "1.5"):
        assert_one_line_error(*run(capsys, "--test-fraction", fraction), "between 0 and 1")
    assert_one_line_error(*run(capsys, "--test-fraction", "0.9999"), "leaves 1000 held out")
    assert_one_line_error(*run(capsys, "--delimiter", ";;"), "one character")
    assert_one_line_error(*run(capsys, "--columns", "a"), "--columns needs --csv")
    assert_one_line_error(*run(capsys, "--output", "x.csv"), "--output goes with --predict")
    assert_one_line_error(*run(capsys, "--predict", "m.json"), "--predict needs --csv")


def test_help_explains_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for option in (
        "--csv",
        "--target",
        "--plot",
        "--json",
        "--lr",
        "--epochs",
        "--optimizer",
        "--seed",
    ):
        assert option in out


def test_divergence_exits_1_with_advice(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--lr", "5", "--true-w", "300,-200")
    assert code == 1 and "diverged" in err and "the learning rate 5 is too large" in err
    assert "try --lr 0.5" in err and err.count("\n") == 1
    assert "error in estimating" not in out  # no summary of a diverged run


def test_plot_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "fit.png"
    code, out, _ = run(capsys, "--plot", str(target), "--features", "1", "--true-w", "2")
    assert code == 0 and f"figure saved to {target}" in out
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["fit.png"]  # no temporary file left behind
    code, out, _ = run(capsys, "--plot", str(tmp_path / "multi.svg"), "--json")
    assert code == 0 and json.loads(out)["plot"] == str(tmp_path / "multi.svg")
    assert (tmp_path / "multi.svg").read_text().lstrip().startswith("<?xml")


def test_plot_problems_are_found_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    assert_one_line_error(
        *run(capsys, "--plot", str(tmp_path / "missing" / "fit.png")), "does not exist"
    )
    assert_one_line_error(
        *run(capsys, "--plot", str(tmp_path / "fit.xyz")), "unsupported file type 'xyz'"
    )


def test_plot_without_matplotlib_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    code, out, err = run(capsys, "--plot", str(tmp_path / "fit.png"))
    assert_one_line_error(code, out, err, 'pip install ".[plot]"', "pip install matplotlib")


def test_long_runs_show_progress_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--epochs", "1")
    assert code == 0 and "steps/s" not in err  # not a terminal, not asked: no progress
    code, out, err = run(capsys, "--epochs", "2", "--progress")
    assert code == 0 and re.search(
        r"^epoch 1/2, batch \d+/100, \d+ steps/s, \d+ s left$", err, re.M
    )
    assert "batch" not in out
    monkeypatch.setattr(report, "PROGRESS_AFTER_SECONDS", 0.0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal shows it unasked
    code, out, err = run(capsys, "--epochs", "1")
    assert code == 0 and re.search(r"\repoch 1/1, batch \d+/100, .* left\033\[K", err)


def test_python_dash_m_runs_the_command() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_lr", "--epochs", "2"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(r"^epoch 2, loss \d\.\d{6}$", done.stdout, re.M)
    bad = subprocess.run(
        [sys.executable, "-m", "tinygrad_lr", "--csv", "/nonexistent.csv", "--target", "y"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == "tinygrad-lr: error: /nonexistent.csv: no such file\n"


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tinygrad_lr", "--epochs", "50"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith("data: ")
    process.stdout.close()  # as `tinygrad-lr | head -1` does
    assert process.wait(timeout=120) == 141
    assert process.stderr.read() == ""
