"""What a failed check found, and the report it raises."""

from __future__ import annotations

from dataclasses import dataclass, field

# ops whose gradient jumps where inputs tie or cross a threshold
_KINKED_OPS = {"relu", "abs", "maximum", "minimum", "max", "min", "clamp"}


class GradcheckError(RuntimeError):
    """A gradient that disagrees with finite differences; `str(error)` is the full report.

    Attributes: `input_index` (the first wrong input, or None), `worst_relative_error`,
    `op_name` / `op_position` / `op_input_shapes` (the first op whose own backward is wrong,
    when one was found).
    """

    def __init__(self, report: str, failure: _Failure | None = None) -> None:
        super().__init__(report)
        self.report = report
        self.input_index = failure.input_index if failure else None
        self.worst_relative_error = failure.worst_relative_error if failure else None
        op = failure.op if failure else None
        self.op_name = op.name if op else None
        self.op_position = op.position if op else None
        self.op_input_shapes = op.input_shapes if op else None


@dataclass
class _Mismatch:
    """One Jacobian entry (or one projection) where analytic and numerical disagree."""

    input_index: int
    where: str
    analytic: float
    numerical: float

    @property
    def relative_error(self) -> float:
        scale = max(abs(self.analytic), abs(self.numerical))
        return abs(self.analytic - self.numerical) / scale if scale > 0 else 0.0


@dataclass
class _OpFinding:
    """The first recorded op whose own backward disagrees with finite differences."""

    name: str
    op_name: str
    position: int
    count: int
    input_shapes: list[tuple[int, ...]]
    created_at: str | None
    detail: str
    builtin: bool


@dataclass
class _Failure:
    summary: str
    lines: list[str] = field(default_factory=list)
    mismatches: list[_Mismatch] = field(default_factory=list)
    input_index: int | None = None
    what: str = "gradients"
    op: _OpFinding | None = None
    located: bool = True  # False for failures that no single op can explain

    @property
    def worst_relative_error(self) -> float | None:
        if not self.mismatches:
            return None
        return max(m.relative_error for m in self.mismatches)


# --- the report ---------------------------------------------------------------------------------


def _fail(failure: _Failure, check: str, raise_exception: bool) -> bool:
    report = _report(failure, check)
    if raise_exception:
        raise GradcheckError(report, failure)
    return False


def _report(failure: _Failure, check: str) -> str:
    lines = [f"{check} failed for the {failure.what} of fn: {failure.summary}."]
    lines.extend(failure.lines)
    worst = failure.worst_relative_error
    if worst is not None:
        lines.append(f"worst relative error: {worst:.3g} (|analytic - numerical| / max of both)")
    op = failure.op
    if op is not None:
        shapes = ", ".join(str(s) for s in op.input_shapes)
        lines.append(
            f"The first op whose own backward disagrees with finite differences on the values "
            f"it saw: {op.op_name} ({op.name}), op {op.position} of {op.count} in the order "
            f"they were computed, input shapes {shapes}."
        )
        if op.created_at:
            lines.append(f"  created at {op.created_at}")
        lines.append("  checked on its own, on those values:")
        lines.append(op.detail)
        if op.builtin and op.op_name in _KINKED_OPS:
            lines.append(
                f"  {op.op_name} is not differentiable where its inputs tie or cross a "
                "threshold: if some input lies within eps of such a kink, move it away"
            )
    elif failure.located:
        lines.append(
            "Every recorded op agrees with finite differences on the values it saw, so no "
            "single op's backward is to blame: look for values computed outside the graph "
            "(.detach(), .numpy(), .item(), no_grad()), or inputs within eps of a kink "
            "(relu or abs at 0, ties in max/min/maximum)."
        )
    return "\n".join(lines)
