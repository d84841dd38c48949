"""tl.compile and the Python values a step reads (python_values.py): each kind of value, when
changed between calls, is seen before the next replay, and the call agrees with eager. Also
the values the check compares to the bit (0.0 and -0.0), and what is deliberately not a
value of the step (a loop variable named like a method it calls)."""

from __future__ import annotations

import collections
import enum
import functools
import logging
import random
import time
import warnings
from collections.abc import Callable
from random import random as random_number
from typing import Any

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr.compile import CompileWarning
from tinygrad_lr.compile.guards import MISS

nn = tl.nn


def _follows(step, change, calls: int = 3) -> None:  # type: ignore[no-untyped-def]
    """Compile `step` (no arguments but x), record and replay it, call `change()`, and check
    that the next calls give what the eager step gives, with no warning."""
    x = tl.tensor([1.0, 2.0, 3.0])
    compiled = tl.compile(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for _ in range(calls):
            compiled(x)
        assert compiled.code is not None
        change()
        for _ in range(calls):
            np.testing.assert_array_equal(compiled(x).numpy(), step(x).numpy(), strict=True)


class Mode(enum.Enum):
    DOUBLE = 2
    TRIPLE = 3


class Base:
    lr = 0.1


class Sub(Base):
    pass


class Slotted:
    __slots__ = ("lr",)

    def __init__(self) -> None:
        self.lr = 0.1


class Inner:
    def __init__(self) -> None:
        self.lr = 0.1


class Outer:
    def __init__(self) -> None:
        self.opt = Inner()


numpy_lr = np.float64(0.1)
mode = Mode.DOUBLE
negative_zero = 0.0
config = Outer()
slotted = Slotted()
weights = tl.tensor([1.0, 1.0, 1.0])


def test_a_numpy_scalar_global_is_compared_by_value() -> None:
    def step(x: tl.Tensor) -> tl.Tensor:
        return x * numpy_lr

    def change() -> None:
        global numpy_lr
        numpy_lr = np.float64(0.5)

    try:
        _follows(step, change)
    finally:
        globals()["numpy_lr"] = np.float64(0.1)


lr_array, lr_vector = np.array(0.1), np.array([0.1, 0.2])


@pytest.mark.parametrize(
    "step",
    [lambda x: x * float(lr_array), lambda x: x * lr_array.item(), lambda x: x * lr_vector[0]],
    ids=["float", "item", "index"],
)
def test_a_small_numpy_array_changed_in_place_is_seen(
    step: Callable[[tl.Tensor], tl.Tensor],
) -> None:
    def change() -> None:
        lr_array[...], lr_vector[0] = 0.5, 0.5

    try:
        _follows(step, change)
    finally:
        lr_array[...], lr_vector[0] = 0.1, 0.1


def test_an_enum_global_picks_the_branch() -> None:
    def step(x: tl.Tensor) -> tl.Tensor:
        return x * 2.0 if mode is Mode.DOUBLE else x * 3.0

    try:
        _follows(step, lambda: globals().update(mode=Mode.TRIPLE))
    finally:
        globals()["mode"] = Mode.DOUBLE


def test_a_nested_attribute_a_slot_and_an_inherited_class_attribute_are_followed() -> None:
    def step(x: tl.Tensor) -> tl.Tensor:
        return x * config.opt.lr + x * slotted.lr + x * Sub.lr

    def change() -> None:
        config.opt.lr, slotted.lr, Base.lr = 0.5, 0.25, 2.0

    try:
        _follows(step, change)
    finally:
        config.opt.lr, slotted.lr, Base.lr = 0.1, 0.1, 0.1


class Schedule:
    """A learning rate computed by a property of the user's."""

    def __init__(self) -> None:
        self.base, self.factor = 0.1, 1.0

    @property
    def lr(self) -> float:
        return self.base * self.factor


class Halved(Schedule):
    pass


schedule = Halved()
skipped = {"bias"}
frozen: set[tl.Tensor] = set()


def test_what_a_property_of_the_users_reads_is_followed() -> None:
    def step(x: tl.Tensor) -> tl.Tensor:
        return x * schedule.lr

    _follows(step, lambda: setattr(schedule, "factor", 0.5))
    try:  # a subclass that defines it later, as a plain value
        _follows(step, lambda: setattr(Halved, "lr", 7.0))
    finally:
        del Halved.lr


def test_a_set_is_followed_by_its_members() -> None:
    def step(x: tl.Tensor) -> tl.Tensor:
        scaled = x * 2.0 if "bias" in skipped else x * 3.0
        return scaled * 5.0 if weights in frozen else scaled

    try:
        _follows(step, lambda: skipped.discard("bias"))
        _follows(step, lambda: frozen.add(weights))  # a set of tensors: by identity
    finally:
        skipped.add("bias")
        frozen.clear()


class Settings:
    def __init__(self, lr: float) -> None:
        self.lr = lr


layers = [Settings(0.5), Settings(2.0)]
holder = Outer()


def _doubled(x: tl.Tensor) -> tl.Tensor:
    return x * layers[0].lr


def test_values_read_through_a_local_alias_or_a_loop_variable_are_followed() -> None:
    def aliased(x: tl.Tensor) -> tl.Tensor:
        options = holder.opt  # `cfg = self.cfg`
        return x * options.lr

    def aliased_again(x: tl.Tensor) -> tl.Tensor:
        outer = holder
        same = outer
        again = same
        return x * again.opt.lr

    def looped(x: tl.Tensor) -> tl.Tensor:
        for layer in layers:  # each item's attributes
            x = x * layer.lr
        return x

    try:
        _follows(aliased, lambda: setattr(holder.opt, "lr", 0.75))
        _follows(aliased_again, lambda: setattr(holder.opt, "lr", 0.5))
        _follows(looped, lambda: setattr(layers[1], "lr", 3.0))
    finally:
        holder.opt.lr, layers[1].lr = 0.1, 2.0


def _scaled_by(x: tl.Tensor, settings: Settings) -> tl.Tensor:
    return x * settings.lr


def test_an_object_the_step_passes_on_is_followed_by_its_attributes() -> None:
    settings = Settings(0.5)

    def step(x: tl.Tensor) -> tl.Tensor:  # what the helper and the builtins read
        by_name = getattr(settings, "lr")  # noqa: B009
        return _scaled_by(x, settings) + x * by_name + x * vars(settings)["lr"]

    _follows(step, lambda: setattr(settings, "lr", 0.25))


class _Scale(nn.Module):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        return x * self.settings.lr


def test_a_forward_is_followed_for_each_module_it_runs_on() -> None:
    second = Settings(2.0)
    net = nn.Sequential(_Scale(Settings(0.5)), _Scale(second))
    _follows(lambda x: net(x), lambda: setattr(second, "lr", 3.0))


chosen = {layers[0]}


@pytest.mark.parametrize(
    "step",
    [
        lambda x: x * sum(layer.lr for layer in layers),
        lambda x: x * sum(layer.lr * (k + 1) for k, layer in enumerate(layers)),
        lambda x: x * sum(a.lr * b.lr for a, b in zip(layers, layers[::-1])),
        lambda x: x * sum(layers[k].lr for k in range(len(layers))),
        lambda x: x * sum(layer.lr for layer in dict(enumerate(layers)).values()),
        lambda x: x * sum(layer.lr for layer in chosen),
    ],
    ids=["generator", "enumerate", "zip", "range", "values", "set"],
)
def test_the_items_of_a_container_are_followed_in_every_kind_of_loop(
    step: Callable[[tl.Tensor], tl.Tensor],
) -> None:
    try:
        _follows(step, lambda: setattr(layers[0], "lr", 3.0))
    finally:
        layers[0].lr = 0.5


def test_a_set_member_replaced_by_an_equal_object_is_seen() -> None:
    class Same(Settings):
        def __eq__(self, other: object) -> bool:
            return isinstance(other, Same)

        def __hash__(self) -> int:
            return 0

    members = {Same(0.5)}

    def step(x: tl.Tensor) -> tl.Tensor:
        return x * sum(member.lr for member in members)

    _follows(step, lambda: (members.clear(), members.add(Same(4.0))))


class _Trainer:
    def __init__(self) -> None:
        self.settings = Settings(0.5)
        self.epoch = 0
        self.seen = np.zeros(3)  # a small array kept for logging, not read by the step


def _scaled_by_trainer(x: tl.Tensor, trainer: _Trainer) -> tl.Tensor:
    return x * trainer.settings.lr


def test_what_the_step_does_not_read_of_an_object_it_passes_on_may_change() -> None:
    """A helper given the trainer reads `trainer.settings.lr`: a counter and a log on the
    trainer change at every call, and the step still replays (a change of lr is seen)."""
    trainer = _Trainer()
    model = nn.Linear(3, 1)
    model.seen = np.zeros(3)  # type: ignore[assignment]  # a model's log, not read either
    scale = _Scale(Settings(2.0))
    scale.calls = 0  # a counter on a module of the user's own class

    def step(x: tl.Tensor) -> tl.Tensor:
        settings = trainer.settings  # an alias, read for lr only
        with tl.no_grad():
            return _scaled_by_trainer(x, trainer) * settings.lr + model(x).sum() + scale(x)

    compiled = tl.compile(step)
    x = tl.tensor([1.0, 2.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for call in range(8):
            trainer.epoch += 1
            trainer.seen[call % 3] += 1.0
            model.seen[call % 3] += 1.0  # type: ignore[index]
            scale.calls += 1
            if call == 5:
                trainer.settings.lr = 0.25
            assert compiled(x).tolist() == step(x).tolist()
    assert compiled.code is not None


def test_a_forward_assigned_to_a_library_module_after_recording_is_seen() -> None:
    tl.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 2), nn.Tanh())

    def step(x: tl.Tensor) -> tl.Tensor:
        with tl.no_grad():
            return net(x)

    def replace() -> None:
        linear = net[0]
        linear.forward = lambda x: x[..., :2] * 10.0  # type: ignore[method-assign]

    _follows(step, replace)


class _Gain(nn.Module):
    """A module of the user's own class whose forward reads its gain through a helper."""

    def __init__(self) -> None:
        super().__init__()
        self.gain, self.calls = 2.0, 0

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        return _times_gain(self, x)


def _times_gain(module: _Gain, x: tl.Tensor) -> tl.Tensor:
    return x * getattr(module, "gain")  # noqa: B009


class _Rated:
    def __init__(self) -> None:
        self.lr = 0.5

    def rate(self) -> float:
        return self.lr


def _rated(x: tl.Tensor, source: _Rated) -> tl.Tensor:
    return x * source.rate()


def test_what_code_reads_of_a_module_or_object_through_helpers_and_methods_is_followed() -> None:
    gain, source = _Gain(), _Rated()

    def step(x: tl.Tensor) -> tl.Tensor:
        return gain(x) + _rated(x, source)

    _follows(step, lambda: setattr(gain, "gain", 3.0))
    _follows(step, lambda: setattr(source, "lr", 4.0))


def test_an_item_of_a_dataset_the_step_indexes_is_replayed() -> None:
    data = tl.utils.data.TensorDataset(tl.arange(6.0).reshape(3, 2))

    def step(x: tl.Tensor) -> tl.Tensor:
        (row,) = data[1]  # tensor indexing inside the library's __getitem__: recorded
        return x[:2] * row

    _follows(step, lambda: data.tensors[0].data.mul_(10.0))


class _Average:
    """Has an `update` that changes it, which the step below never calls."""

    __slots__ = ("count", "lr")

    def __init__(self) -> None:
        self.lr, self.count = 0.5, 0

    def update(self) -> None:
        self.count += 1


def _with_rate(x: tl.Tensor, settings: _Average) -> tl.Tensor:
    return x * settings.lr


def test_a_slot_a_partial_and_a_method_only_named_elsewhere() -> None:
    """A helper given a slotted object reads its slot; a module calls a partial it keeps;
    `metrics.update` (a dict's) is no call of `_Average.update`, whose store is no effect."""
    average, gain = _Average(), _Gain()
    gain.post = functools.partial(_times_gain, gain)  # type: ignore[assignment]

    def step(x: tl.Tensor) -> tl.Tensor:
        metrics: dict[str, tl.Tensor] = {}
        metrics.update(out=_with_rate(x, average) + gain.post(x))  # type: ignore[operator]
        return metrics["out"]

    _follows(step, lambda: setattr(average, "lr", 4.0))
    _follows(step, lambda: setattr(gain, "gain", 5.0))


def test_an_argument_a_generator_expression_uses_is_followed() -> None:
    class Regularised:
        def __init__(self) -> None:
            self.decay = 0.1

        def __call__(self, x: tl.Tensor) -> tl.Tensor:  # self is a closure cell here
            return x + sum(self.decay * t for t in (x, x))

    step = Regularised()
    _follows(step, lambda: setattr(step, "decay", 0.5))


def test_the_code_of_functions_the_step_takes_from_a_list_is_followed() -> None:
    functions = [_doubled, _doubled]

    def step(x: tl.Tensor) -> tl.Tensor:
        for function in functions:
            x = function(x)
        return x

    try:
        _follows(step, lambda: setattr(layers[0], "lr", 4.0))
    finally:
        layers[0].lr = 0.5


def test_a_global_tensor_rebound_to_another_tensor_is_followed() -> None:
    def step(x: tl.Tensor) -> tl.Tensor:
        return x * weights

    try:
        _follows(step, lambda: globals().update(weights=tl.tensor([5.0, 5.0, 5.0])))
    finally:
        globals()["weights"] = tl.tensor([1.0, 1.0, 1.0])


def test_zero_and_negative_zero_are_different_values_and_arguments() -> None:
    def step(x: tl.Tensor) -> tl.Tensor:
        return 1.0 / (x * negative_zero)  # inf, or -inf

    with np.errstate(divide="ignore"):
        try:
            _follows(step, lambda: globals().update(negative_zero=-0.0))
        finally:
            globals()["negative_zero"] = 0.0

        def divided(x: tl.Tensor, zero: float) -> tl.Tensor:
            return 1.0 / (x * zero)

        compiled = tl.compile(divided)
        x = tl.ones(2)
        for zero in (0.0, -0.0, 0.0, -0.0):
            results = [compiled(x, zero).tolist() for _ in range(3)]
            assert (
                results == [divided(x, zero).tolist()] * 3 == [[np.copysign(np.inf, zero)] * 2] * 3
            )
        assert len(compiled._entries) == 2


def test_steps_that_are_partials_decorated_functions_and_callable_objects() -> None:
    scale = {"now": 2.0}  # a dict's items are not checked; its owner's attribute is

    class Scaler:
        factor = 2.0

        def __call__(self, x: tl.Tensor) -> tl.Tensor:
            return x * self.factor

    def decorate(fn):  # type: ignore[no-untyped-def]
        @functools.wraps(fn)
        def wrapper(*args):  # type: ignore[no-untyped-def]
            return fn(*args)

        return wrapper

    scaler = Scaler()

    @decorate
    def decorated(x: tl.Tensor) -> tl.Tensor:
        return x * scaler.factor

    def scaled(x: tl.Tensor, by: float) -> tl.Tensor:
        return x * by * scaler.factor

    for step in (scaler, decorated, functools.partial(scaled, by=scale["now"])):
        scaler.factor = 2.0
        _follows(step, lambda: setattr(scaler, "factor", 7.0))


def _net_with_dropout() -> tuple[nn.Module, tl.Tensor]:
    """A model whose output depends on `training`, and a batch for it."""
    tl.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Linear(4, 1)), tl.randn(8, 4)


def test_a_model_passed_as_an_argument_or_held_by_self_follows_eval() -> None:
    model, x = _net_with_dropout()

    def predict(net: nn.Module, x: tl.Tensor) -> tl.Tensor:
        with tl.no_grad():
            return net(x)

    class Predictor:
        def __init__(self, net: nn.Module) -> None:
            self.model = net

        def __call__(self, x: tl.Tensor) -> tl.Tensor:
            with tl.no_grad():
                return self.model(x)

    for compiled, eager in (
        (tl.compile(predict), predict),
        (tl.compile(Predictor(model)), Predictor(model)),
    ):
        model.train()
        args = (model, x) if eager is predict else (x,)
        for _ in range(3):
            compiled(*args)
        model.eval()
        tl.manual_seed(1)
        replayed = compiled(*args)
        tl.manual_seed(1)
        np.testing.assert_array_equal(replayed.numpy(), eager(*args).numpy(), strict=True)


@pytest.mark.parametrize("keyword", [False, True])
def test_a_model_bound_by_a_partial_follows_eval(keyword: bool) -> None:
    """`partial(step, model)(x)` is `step(model, x)`: the partial's arguments come first."""
    model, x = _net_with_dropout()

    def predict(net: nn.Module, inputs: tl.Tensor) -> tl.Tensor:
        with tl.no_grad():
            return net(inputs)

    step = functools.partial(predict, net=model) if keyword else functools.partial(predict, model)
    compiled = tl.compile(step)
    call: Callable[[Any], Any] = (lambda f: f(inputs=x)) if keyword else (lambda f: f(x))
    for _ in range(3):
        call(compiled)
    model.eval()
    tl.manual_seed(1)
    replayed = call(compiled)
    tl.manual_seed(1)
    np.testing.assert_array_equal(replayed.numpy(), call(step).numpy(), strict=True)


CONFIG = {"scale": 2.0, "layers": [1.0, 3.0]}
MODELS = [nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))]


def test_items_taken_with_a_constant_key_are_followed() -> None:
    def scaled(x: tl.Tensor) -> tl.Tensor:
        return x * CONFIG["scale"] + CONFIG["layers"][1]

    _follows(scaled, lambda: CONFIG.update(scale=7.0))
    _follows(scaled, lambda: CONFIG["layers"].__setitem__(1, -1.0))
    _follows(scaled, lambda: CONFIG.update(layers=[0.5, 4.0]))  # another list


def test_a_model_in_a_list_follows_eval() -> None:
    def predict(x: tl.Tensor) -> tl.Tensor:
        with tl.no_grad():
            return MODELS[0](x)  # dropout: random in training mode, off once in eval mode

    MODELS[0].train()
    _follows(predict, lambda: MODELS[0].eval())


ORDERED = collections.OrderedDict(scale=2.0)
NESTED = ({"scale": 2.0}, [1.0, 2.0])
SCALES = [2.0, 3.0]


def _sum_of(values: Any) -> float:  # a helper: it reads what it is given
    return sum(values[k] for k in values) if isinstance(values, dict) else sum(values)


@pytest.mark.parametrize(
    ("step", "change"),
    [
        (lambda x: x * ORDERED["scale"], lambda: ORDERED.update(scale=7.0)),  # a dict subclass
        (lambda x: x * ORDERED.get("scale", 1.0), lambda: ORDERED.update(scale=5.0)),  # .get
        (lambda x: x * NESTED[0]["scale"], lambda: NESTED[0].update(scale=3.0)),  # in a tuple
        (lambda x: x * _sum_of(NESTED[1]), lambda: NESTED[1].append(4.0)),  # one appended
        (lambda x: x * max(*SCALES), lambda: SCALES.__setitem__(1, 9.0)),  # unpacked
        (lambda x: x * next(iter(SCALES)), lambda: SCALES.reverse()),  # iterated
        (lambda x: x * _sum_of(ORDERED), lambda: ORDERED.update(shift=1.0)),  # a key added
    ],
    ids=["subclass", "get", "tuple", "append", "unpack", "iterate", "key"],
)
def test_the_contents_of_containers_the_step_reads_are_followed(
    step: Callable[[tl.Tensor], tl.Tensor], change: Callable[[], Any]
) -> None:
    ORDERED.clear()
    ORDERED.update(scale=2.0)
    NESTED[0].update(scale=2.0)
    NESTED[1][:] = [1.0, 2.0]
    SCALES[:] = [2.0, 3.0]
    _follows(step, change)


def test_containers_are_followed_only_as_far_as_the_step_uses_them() -> None:
    """A dict read by constant keys is followed by those items only (a counter beside them may
    change at every call), a model's list the forward never reads not at all; odd keys (None,
    tensors) neither break the check nor make it fail at every call."""
    w = tl.ones(3)
    config = {"scale": 2.0, "calls": 0, None: 1.0}
    rates = {w: 3.0}  # read with a key the step computes: every item is checked
    model = nn.Linear(3, 3)
    model.log = []  # type: ignore[attr-defined]  # appended to outside the step, never read

    def step(x: tl.Tensor) -> tl.Tensor:
        with tl.no_grad():
            return model(x) * config["scale"] + config[None] * rates[w]

    def between() -> None:
        config["calls"] += 1
        model.log.append(1.0)  # type: ignore[attr-defined]

    compiled = tl.compile(step)
    x = tl.tensor([1.0, 2.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for _ in range(6):
            between()
            np.testing.assert_array_equal(compiled(x).numpy(), step(x).numpy(), strict=True)
    assert compiled.code is not None
    assert compiled._check_and_run(x) is not MISS  # the check holds: no record at every call


def test_the_check_does_not_change_a_defaultdict() -> None:
    config = collections.defaultdict(float, scale=2.0, gone=1.0)

    def step(x: tl.Tensor) -> tl.Tensor:
        return x * sum(config.values())  # used as a whole: every item is checked

    _follows(step, lambda: (config.pop("gone"), config.update(new=3.0)))
    assert "gone" not in config  # the check read its items without adding any


def test_a_container_given_as_a_default_argument_is_followed() -> None:
    scales = [2.0]

    def step(x: tl.Tensor, factors: list[float] = scales) -> tl.Tensor:
        return x * factors[0] * sum(factors)

    _follows(step, lambda: scales.append(5.0))


def test_models_in_a_tuple_iterated_and_a_default_argument_follow_eval() -> None:
    tl.manual_seed(0)
    models = (nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)), nn.Dropout(0.5))
    default = nn.Dropout(0.5)

    def ensemble(x: tl.Tensor, extra: nn.Module = default) -> tl.Tensor:
        with tl.no_grad():
            return sum((m(x) for m in models), extra(x))

    def evaluate() -> None:
        for module in (models[0][1], models[1], default):
            module.eval()

    _follows(ensemble, evaluate)


def test_a_layer_appended_to_a_sequential_is_seen() -> None:
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3))

    def predict(x: tl.Tensor) -> tl.Tensor:
        with tl.no_grad():
            return model(x)

    _follows(predict, lambda: model.append(nn.Tanh()))


def test_a_class_attribute_shadowing_a_base_class_one_is_seen() -> None:
    class Base:
        scale = 2.0

    class Trainer(Base):
        def __call__(self, x: tl.Tensor) -> tl.Tensor:
            return x * self.scale

    _follows(Trainer(), lambda: setattr(Trainer, "scale", 5.0))


def test_a_loop_variable_named_like_a_method_the_step_calls_is_not_its_value() -> None:
    """`opt.step()` loads the attribute `step`, not the global: a loop `for step in ...` at
    module level must not make the step look like it reads a changing value."""
    namespace: dict[str, object] = {"tl": tl, "nn": nn}
    exec(
        "model = nn.Linear(3, 1)\n"
        "opt = tl.optim.SGD(model.parameters(), lr=0.1)\n"
        "def train(x, y):\n"
        "    opt.zero_grad()\n"
        "    loss = nn.functional.mse_loss(model(x), y)\n"
        "    loss.backward()\n"
        "    opt.step()\n"
        "    return loss\n",
        namespace,
    )
    compiled = tl.compile(namespace["train"])
    x, y = tl.ones(4, 3), tl.zeros(4, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for step in range(6):
            namespace["step"] = step
            compiled(x, y)
    assert compiled.code is not None


def test_a_compiled_model_takes_the_fast_road() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    compiled = tl.compile(model)
    x = tl.ones(2, 3)
    with tl.no_grad():
        for _ in range(3):
            out = compiled(x)
        training = tuple(m.training for m in model.modules())
        fast = compiled._forward._check_and_run(training, x)
    assert fast is not MISS
    np.testing.assert_array_equal(fast.numpy(), out.numpy(), strict=True)


def test_a_value_changed_by_the_step_itself_runs_it_eagerly_with_the_name() -> None:

    class Counter:
        count = 0

    counter = Counter()

    def step(x: tl.Tensor) -> tl.Tensor:
        counter.count += 1
        return x * counter.count

    compiled = tl.compile(step)
    x = tl.ones(1)
    with pytest.warns(CompileWarning, match=r"counter\.count changes from call to call"):
        results = [compiled(x).item() for _ in range(8)]
    assert results == [float(k) for k in range(1, 9)]


# --- the review's second round: models rebuilt, methods, side effects, odd objects -------------


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 1)

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        return self.fc(x)


def test_a_submodule_or_a_parameter_assigned_anew_is_seen() -> None:
    tl.manual_seed(0)
    net = _Net()

    def step(x: tl.Tensor) -> tl.Tensor:
        with tl.no_grad():
            return net(x)

    def new_layer() -> None:
        net.fc = nn.Linear(3, 1)

    def new_weight() -> None:
        net.fc.weight = nn.Parameter(tl.ones(1, 3))

    _follows(step, new_layer)
    _follows(step, new_weight)


class _Scaler:
    act = staticmethod(tl.relu)

    def __init__(self) -> None:
        self.k = 2.0

    def apply(self, x: tl.Tensor) -> tl.Tensor:
        return self.act(x) * self.k


scaler = _Scaler()


def test_a_method_the_step_calls_is_read_too_and_a_class_attribute_function() -> None:
    def step(x: tl.Tensor) -> tl.Tensor:
        return scaler.apply(x - 2.0)

    try:
        _follows(step, lambda: setattr(scaler, "k", 3.0))
        _follows(step, lambda: setattr(_Scaler, "act", staticmethod(tl.tanh)))
    finally:
        scaler.k, _Scaler.act = 2.0, staticmethod(tl.relu)


history: list[tl.Tensor] = []
total = 0


counts = np.zeros(100)


@pytest.mark.parametrize(
    "effect, message",
    [("append", r"calls history\.append\(\) on a list"), ("global", r"assigns a global, total"),
     ("print", "prints"), ("attribute", r"sets scaler\.last"),
     ("item", r"changes an item of history"), ("array", r"changes an item of counts")],
)  # fmt: skip
def test_a_step_with_a_python_side_effect_runs_eagerly_with_a_warning(
    effect: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def appends(x: tl.Tensor) -> tl.Tensor:
        history.append(x * 2.0)
        return x * 2.0

    def assigns(x: tl.Tensor) -> tl.Tensor:
        global total
        total = total + 1
        return x * 2.0

    def prints(x: tl.Tensor) -> tl.Tensor:
        print("step")
        return x * 2.0

    def sets(x: tl.Tensor) -> tl.Tensor:
        scaler.last = x * 2.0  # type: ignore[attr-defined]
        return x * 2.0

    def stores(x: tl.Tensor) -> tl.Tensor:
        history[:] = [x * 2.0]
        return x * 2.0

    def counts_in_numpy(x: tl.Tensor) -> tl.Tensor:
        counts[0] += 1  # an outside NumPy array changed in Python
        return x * 2.0

    steps = {"append": appends, "global": assigns, "print": prints, "attribute": sets,
             "item": stores, "array": counts_in_numpy}  # fmt: skip
    step = steps[effect]
    compiled = tl.compile(step)
    x = tl.ones(2)
    history.clear()
    with pytest.warns(CompileWarning, match=message + ".*a replay would not repeat"):
        for _ in range(4):
            compiled(x)
    assert compiled.code is None
    if effect == "append":
        assert len(history) == 4  # every call did it: they all ran eagerly
    if effect == "print":
        assert capsys.readouterr().out == "step\n" * 4


class _Proxy:
    """An object that refuses every look, as a context-bound proxy outside its context does."""

    def __getattribute__(self, name: str) -> object:
        raise RuntimeError("working outside of context")


proxy = _Proxy()


def test_an_object_that_refuses_to_be_looked_at_does_not_break_recording() -> None:
    def step(x: tl.Tensor, use: bool = False) -> tl.Tensor:
        return x * 2.0 if not use else x * proxy.scale

    compiled = tl.compile(step)
    x = tl.ones(2)
    for _ in range(3):
        assert compiled(x).tolist() == [2.0, 2.0]
    assert compiled.code is not None


def test_a_number_argument_changing_at_every_call_is_named_in_a_warning() -> None:
    def step(x: tl.Tensor, lr: float) -> tl.Tensor:
        return x * lr

    compiled = tl.compile(step)
    x = tl.ones(1)
    with pytest.warns(CompileWarning, match="more than 8 signatures.*pass it as a tensor"):
        results = [compiled(x, 0.5**k).item() for k in range(12)]
    assert results == [0.5**k for k in range(12)]


numpy_draws = np.random.RandomState(0)
python_draws = random.Random(0)
log = logging.getLogger("tinygrad_lr.tests.compiled_step")
recent: collections.deque[tl.Tensor] = collections.deque(maxlen=3)
rates = iter([0.1] * 100)
v = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)


# Each step's value does not depend on the call in it, so two records agree and would be
# replayed if the call were not seen.
def _numpy_draw(x: tl.Tensor) -> tl.Tensor:
    return (x * v * float(np.random.randint(1, 2))).sum()


def _python_draw(x: tl.Tensor) -> tl.Tensor:
    return (x * v * (1.0 + 0.0 * python_draws.random())).sum()


def _state_draw(x: tl.Tensor) -> tl.Tensor:
    return (x * v * float(numpy_draws.randint(1, 2))).sum()


def _next(x: tl.Tensor) -> tl.Tensor:
    return (x * v * (1.0 + 0.0 * next(rates))).sum()


def _imported_draw(x: tl.Tensor) -> tl.Tensor:
    return (x * v * (1.0 + 0.0 * random_number())).sum()


def _clock(x: tl.Tensor) -> tl.Tensor:
    return (x * v * (1.0 + 0.0 * time.perf_counter())).sum()


def _reseeds(x: tl.Tensor) -> tl.Tensor:
    tl.manual_seed(0)
    return (x * v).sum()


def _keeps(x: tl.Tensor) -> tl.Tensor:
    recent.append(v)
    return (x * v).sum()


def _logs(x: tl.Tensor) -> tl.Tensor:
    log.info("step")
    return (x * v).sum()


@pytest.mark.parametrize(
    "step, message",
    [(_numpy_draw, r"calls np\.random\.randint\(\)"),
     (_python_draw, r"calls python_draws\.random\(\) on a Random"),
     (_state_draw, r"calls numpy_draws\.randint\(\) on a RandomState"),
     (_next, "takes from the iterator rates"), (_clock, r"calls time\.perf_counter\(\)"),
     (_imported_draw, r"calls random_number\(\), which draws"),
     (_reseeds, "manual_seed"), (_keeps, r"calls recent\.append\(\) on a deque"),
     (_logs, r"calls log\.info\(\) on a Logger")],
)  # fmt: skip
def test_a_step_that_draws_reads_the_clock_or_logs_runs_eagerly_with_a_warning(
    step: Callable[[tl.Tensor], tl.Tensor], message: str
) -> None:
    """What such a call returns or does is new at every call, and a replay would not call
    it: a sample index drawn alike twice would be frozen, a log line written twice only."""
    compiled = tl.compile(step)
    with pytest.warns(CompileWarning, match=message):
        for _ in range(4):
            compiled(tl.ones(3))
    assert compiled.code is None


class _Computed:
    """Settings whose attributes its own __getattr__ computes."""

    def __getattr__(self, name: str) -> float:
        return 0.1


class _AttrDict(dict):  # type: ignore[type-arg]
    __getattr__ = dict.__getitem__


chained = collections.ChainMap({"lr": 0.1}, {"lr": 0.2})
counted = collections.Counter(present=1)
computed = _Computed()
attr_dict = _AttrDict(lr=0.1)


@pytest.mark.parametrize(
    "step, message",
    [(lambda x: x * chained["lr"], r"chained\['lr'\] .*ChainMap\.__getitem__"),
     (lambda x: x * (1.0 + counted["absent"]), r"counted\['absent'\] .*Counter\.__missing__"),
     (lambda x: x * computed.lr, r"computed\.lr .*_Computed\.__getattr__"),
     (lambda x: x * attr_dict.lr, r"attr_dict\.lr .*_AttrDict\.__getattr__")],
    ids=["ChainMap", "Counter", "__getattr__", "dict's __getitem__"],
)  # fmt: skip
def test_a_value_only_the_owners_code_can_read_runs_the_step_eagerly(
    step: Callable[[tl.Tensor], tl.Tensor], message: str
) -> None:
    """The check would have to run that code before every call; the value would be frozen."""
    compiled = tl.compile(step)
    with pytest.warns(CompileWarning, match="cannot follow " + message):
        for _ in range(3):
            compiled(tl.ones(3))
    assert compiled.code is None


def test_an_augmented_assignment_of_a_global_tensor_is_no_side_effect() -> None:
    """`global w` and `w -= lr * w.grad` store back the tensor changed in place: replayed."""
    results, compiled = [], tl.compile(_global_update)
    for step in (compiled, _global_update):
        with tl.no_grad():
            g_w.copy_(tl.tensor([1.0, -1.0, 0.5]))
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompileWarning)
            results.append([step(tl.tensor([1.0, 2.0, 3.0])).tolist() for _ in range(4)])
    assert compiled.code is not None
    assert results[0] == results[1]


g_w = tl.tensor([1.0, -1.0, 0.5], requires_grad=True)


def _global_update(x: tl.Tensor) -> tl.Tensor:
    global g_w
    loss = (x * g_w).sum()
    loss.backward()
    with tl.no_grad():
        g_w -= 0.1 * g_w.grad
        g_w.grad.zero_()
    return g_w.detach() * 1.0


forward_scale = 1.0
forward_shapes: list[tuple[int, ...]] = []


class _ScaledNet(nn.Module):
    """A model whose own forward reads a global, as d2l's dropout model reads `dropout1`."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        return self.linear(x) * forward_scale


class _NoisyNet(_ScaledNet):
    def forward(self, x: tl.Tensor) -> tl.Tensor:
        return self.linear(x) * (1.0 if random.random() < 2.0 else 0.0)  # a draw per call


class _RecordingNet(_ScaledNet):
    def forward(self, x: tl.Tensor) -> tl.Tensor:
        forward_shapes.append(tuple(x.shape))  # a side effect in the forward
        return self.linear(x)


def test_what_a_models_own_forward_reads_is_followed() -> None:
    global forward_scale
    tl.manual_seed(0)
    net = _ScaledNet()
    step, module = tl.compile(lambda x: net(x).sum()), tl.compile(net)
    x = tl.ones(2, 3)
    for scale in (1.0, 1.0, 1.0, 10.0, 10.0):
        forward_scale = scale
        with tl.no_grad():
            assert module(x).tolist() == net(x).tolist()
        with tl.no_grad():  # (in grad mode, a result with a graph runs it eagerly)
            assert step(x).item() == net(x).sum().item()
    forward_scale = 1.0
    assert step.code is not None and module.code is not None


@pytest.mark.parametrize(
    "model, message",
    [(_NoisyNet, r"random\.random\(\)"), (_RecordingNet, r"forward_shapes\.append\(\)")],
)
def test_a_draw_or_a_side_effect_in_a_models_forward_runs_the_step_eagerly(
    model: type, message: str
) -> None:
    net = model()
    step = tl.compile(lambda x: net(x).sum())
    with pytest.warns(CompileWarning, match=message):
        for _ in range(3):
            step(tl.ones(2, 3))
    assert step.code is None


def test_a_step_decorated_with_no_grad_replays_and_a_value_returned_twice_is_one_tensor() -> None:
    tl.manual_seed(0)
    model = nn.Linear(3, 2)

    @tl.compile
    @tl.no_grad()
    def evaluate(x: tl.Tensor) -> tuple[tl.Tensor, tl.Tensor]:
        out = model(x).sum()
        return out, out

    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for _ in range(3):
            first, second = evaluate(tl.ones(4, 3))
    assert evaluate.code is not None and first is second


class _Settings:
    scale = 2.0


def _keeps_name(fn: Callable[..., tl.Tensor]) -> Callable[..., tl.Tensor]:
    """A decorator of the user's, as functools.wraps writes them."""

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> tl.Tensor:
        return fn(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize("decorate", [tl.no_grad(), _keeps_name], ids=["no_grad", "wraps"])
def test_a_decorated_step_follows_what_its_arguments_lead_to(decorate: Any) -> None:
    settings = _Settings()

    @decorate
    def step(x: tl.Tensor, config: _Settings) -> tl.Tensor:
        return x * config.scale

    compiled = tl.compile(step)
    for scale in (2.0, 2.0, 2.0, 5.0):
        settings.scale = scale
        assert compiled(tl.ones(2), settings).tolist() == [scale, scale]
    assert compiled.code is not None


def test_a_step_that_reads_a_file_runs_eagerly(tmp_path: Any) -> None:
    path = tmp_path / "w.npy"
    np.save(path, np.ones(2))
    compiled = tl.compile(lambda x: x * tl.tensor(np.load(path)))
    with pytest.warns(CompileWarning, match=r"np\.load\(\)"):
        for value in (1.0, 1.0, 1.0, 3.0):
            np.save(path, np.full(2, value))
            assert compiled(tl.ones(2)).tolist() == [value, value]
