"""TrainConfig (gan_mnist.config): validation with one clear message per bad value, the architectures' defaults,
`replace`, presets, config.json in groups (and the flat configs of older runs)."""

import dataclasses
import re

import pytest

from gan_mnist import TrainConfig
from gan_mnist.config import FIELD_TYPES
from gan_mnist.errors import GanMnistError
from gan_mnist.presets import PRESETS
from gan_mnist.recipes import ARCHITECTURE_FIELDS, ARCHITECTURES


@pytest.mark.parametrize(
    "changes, message",
    [({"epochs": 0}, "epochs must be a positive"), ({"batch_size": -1}, "batch_size"),
     ({"model": "vae"}, "unknown model"),
     ({"limit": None}, "limit must be an integer, got None \\(NoneType\\); 0 means all"),
     # types are checked, not coerced: a non-empty string would be True, "2" would fail deep inside Keras
     ({"mixed_precision": 1}, "mixed_precision must be a string"), ({"deterministic": 1}, "a boolean"),
     ({"width": "2"}, "width must be a number"), ({"g_learning_rate": float("nan")}, "a number \\(finite\\)"),
     ({"epochs": 2.0}, "epochs must be an integer"), ({"model": ["mlp"]}, "model must be a string"),
     ({"seed": 2**70}, "seed is out of range")],
)
def test_bad_config_values(changes, message):
    with pytest.raises(GanMnistError, match=message):
        TrainConfig(**changes)


def test_optimizer_defaults_follow_the_model():
    tutorial = TrainConfig.preset("tutorial")
    assert (tutorial.g_learning_rate, tutorial.beta_1, tutorial.batch_size, tutorial.epochs) == (1e-4, 0.9, 256, 50)
    # the default recipe: the resize pair self-conditioned, R3GAN's loss and penalties, no dropout, an EMA generator
    default = TrainConfig()
    assert (default.model, default.loss, default.penalty, default.gamma) == ("self_resize", "rpgan", "r1,r2", 0.05)
    assert (default.clusters, default.d_dropout, default.ema_kimg, default.mixed_precision) == (50, 0.0, 10.0, "auto")
    assert (default.epochs, default.steps_per_execution, default.batch_size, default.mode_seeking) == (17, 1, 128, 0.0)
    assert (default.width, default.d_scale, default.beta_2, default.penalty_every) == (0.5, 1.0, 0.99, 16)
    assert default.d_growth == 8.0  # D's convolutions 32 -> 256
    assert (default.g_learning_rate, default.d_learning_rate, default.beta_1) == (5e-4, 5e-4, 0.5)
    assert TrainConfig(mode_seeking=0.05).summary == "self_resize rpgan r1+r2(0.05/16) ms0.05 self50 ema10k"
    # the loss is the architecture's too, and follows a new model unless given
    assert TrainConfig().replace(model="mlp").loss == "ns" and TrainConfig(model="cgan").loss == "rpgan"
    assert TrainConfig(loss="hinge").replace(seed=1).loss == "hinge"
    # an architecture brings its own Adam settings, width, precision, budget and penalty (recipes.ARCHITECTURES)
    resize = TrainConfig(model="resize")
    assert (resize.g_learning_rate, resize.beta_1, resize.beta_2, resize.width) == (2e-4, 0.5, 0.99, 0.5)
    assert resize.d_scale == 3.0  # its discriminator sized to its generator
    assert (resize.mixed_precision, resize.epochs, resize.penalty, resize.penalty_every) == ("auto", 40, "r1", 4)
    cgan = TrainConfig(model="cgan")
    assert (cgan.penalty, cgan.gamma, cgan.mixed_precision, cgan.epochs) == ("r1,r2", 0.05, "auto", 28)
    assert TrainConfig(model="cgan", penalty="none").penalty == "none"
    assert TrainConfig(model="cgan", penalty=None).penalty == "r1,r2"  # None: the architecture's
    # the cGAN's networks run their own R1 + R2 every 16th step (in either spelling); another penalty, or the same
    # one on another architecture, brings the penalty's interval
    assert (TrainConfig().penalty_every, TrainConfig(penalty="r2,r1").penalty_every, cgan.penalty_every) == (16, 16, 16)
    assert TrainConfig(penalty="r1").penalty_every == 4 and TrainConfig().replace(model="conv").penalty_every == 4
    assert TrainConfig(model="conv", penalty="r1,r2").penalty_every == 4
    assert TrainConfig(penalty="none").penalty_every == 1 and TrainConfig(penalty_every=2).penalty_every == 2
    assert TrainConfig(model="dcgan").width == 1.0 and TrainConfig(model="mlp").mixed_precision == "off"
    mlp = TrainConfig(model="mlp")
    assert (mlp.g_learning_rate, mlp.d_learning_rate, mlp.beta_1) == (2e-4, 2e-4, 0.5)
    assert TrainConfig(model="mlp", beta_1=0.9).beta_1 == 0.9
    # replace(model=...) brings the new model's row, replace(penalty=...) the penalty's weight and interval, unless
    # given beside them; every other field is kept
    moved = TrainConfig(model="dcgan").replace(model="mlp")
    assert (moved.g_learning_rate, moved.d_learning_rate, moved.beta_1, moved.epochs) == (2e-4, 2e-4, 0.5, 100)
    tutorial_mlp = TrainConfig.preset("tutorial").replace(model="mlp")
    assert tutorial_mlp == TrainConfig(model="mlp", **{k: v for k, v in PRESETS["tutorial"].items()
                                                       if k not in ARCHITECTURE_FIELDS and k != "model"})
    assert tutorial_mlp.batch_size == 256 and tutorial_mlp.beta_1 == 0.5
    assert TrainConfig(model="mlp").replace(model="cgan").penalty == "r1,r2"
    assert TrainConfig(model="mlp").replace(model="cgan", penalty="none").penalty == "none"
    assert TrainConfig(model="cgan").replace(penalty="gp").gamma == 10.0  # the penalty brings its weight
    assert TrainConfig(model="cgan").replace(penalty="gp").penalty_every == 1  # and its interval
    assert TrainConfig(model="cgan", gamma=0.2).replace(penalty="r2", gamma=0.2).gamma == 0.2
    resized = TrainConfig(model="resize").replace(model="mlp")  # width 0.5 and auto precision were resize's defaults
    assert (resized.width, resized.mixed_precision, resized.beta_2, resized.epochs) == (1.0, "off", 0.999, 100)
    kept = TrainConfig(g_learning_rate=3e-4, latent_dim=64).replace(model="cgan", beta_1=0.8)
    assert (kept.g_learning_rate, kept.d_learning_rate, kept.beta_1, kept.latent_dim) == (2e-4, 2e-4, 0.8, 64)
    assert TrainConfig.preset("tutorial").replace(seed=3).g_learning_rate == 1e-4
    with pytest.raises(GanMnistError, match="beta_1"):
        TrainConfig(beta_1=1.5)


@pytest.mark.parametrize("changes, message", [
    ({"penalty": "r3"}, "unknown penalty"),
    ({"penalty": "r1,r3"}, "unknown penalty"),
    ({"penalty": "r1,r1"}, "names a penalty twice"),
    ({"penalty": "r1,gp"}, r"different default weights \(r1 0.05, gp 10\)"),
])
def test_penalties_that_cannot_be_resolved_are_refused_clearly(changes, message):
    with pytest.raises(GanMnistError, match=message):
        TrainConfig(**changes)


# one config that breaks each rule of config.CHECKS other than a field's bounds (those: test_every_bound_is_checked)
BROKEN = {
    "loss": ({"loss": "nope"}, "unknown loss 'nope'; choose one of"),
    "dataset": ({"dataset": "cifar"}, "unknown dataset"),
    "mixed_precision": ({"mixed_precision": "half"}, "mixed_precision must be one of auto, bf16, fp16, off"),
    "eval_every on MNIST": ({"dataset": "fashion_mnist", "eval_every": 1}, "eval_every needs dataset 'mnist'"),
    "self-conditioned": ({"model": "self_cgan", "clusters": 0}, "'self_cgan' is self-conditioned: clusters must be 2"),
    "clusters on a conditional model": ({"model": "mlp", "clusters": 10}, "\\(self-conditioning\\) needs a"),
    "clusters the images hold": ({"model": "cgan", "clusters": 50, "limit": 400},
                                 "or 2-40, got 50; a cluster needs 10 or more"),
    "Lipschitz critic": ({"loss": "wgan"}, "needs a Lipschitz critic"),
    "gamma with a penalty": ({"penalty": "none", "gamma": 5.0}, "gamma weighs the gradient penalty"),
    "penalty_every with a penalty": ({"model": "dcgan", "penalty_every": 4}, "penalty_every=4 sets how often"),
    "n_critic splits the batch": ({"n_critic": 3, "batch_size": 64}, "must split into n_critic=3"),
}


def test_every_check_has_one_config_that_breaks_it():
    from gan_mnist.config import CHECKS

    bounded = {f.name for f in dataclasses.fields(TrainConfig) if f.metadata["bounds"]}
    assert sorted(c.name for c in CHECKS) == sorted({*BROKEN, *bounded}), "a check without a test, or a stale test"


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_rule_is_refused_with_its_message(name):
    changes, message = BROKEN[name]
    with pytest.raises(GanMnistError, match=message):
        TrainConfig(**changes)


@pytest.mark.parametrize("field", [f for f in dataclasses.fields(TrainConfig) if f.metadata["bounds"]],
                         ids=lambda f: f.name)
def test_every_bound_is_checked(field):
    bounds = field.metadata["bounds"]
    integer = float not in FIELD_TYPES[field.name]
    above = bounds.hi if bounds.hi_open else bounds.hi + 1  # just outside the top end
    below = bounds.lo if bounds.lo_open else bounds.lo - 1  # and the bottom one
    for value in (above, below) if not bounds.zero or below != 0 else (above, -1):
        value = int(value) if integer else float(value)
        with pytest.raises(GanMnistError, match=f"^{field.name} must be {re.escape(bounds.describe(integer))}, got"):
            TrainConfig(**{field.name: value})
    if bounds.zero:  # 0 has its own meaning (off, all, ...) and is allowed
        TrainConfig(**{field.name: 0 if integer else 0.0})


def test_presets():
    tutorial = TrainConfig.preset("tutorial")
    assert (tutorial.model, tutorial.batch_size, tutorial.g_learning_rate, tutorial.beta_1) == ("dcgan", 256, 1e-4, 0.9)
    fast = TrainConfig.preset("fast", epochs=3)
    assert fast.epochs == 3 and all(getattr(fast, k) == v for k, v in PRESETS["fast"].items() if k != "epochs")
    assert (fast.model, fast.steps_per_execution) == ("mlp", 10)
    with pytest.raises(GanMnistError, match="unknown preset 'slow'"):
        TrainConfig.preset("slow")


def test_config_json_is_written_in_groups_and_read_back(tmp_path):
    import json

    from gan_mnist.config import GROUPS

    config = TrainConfig(model="cgan", seed=3, eval_every=2)
    config.save(tmp_path / "config.json")
    saved = json.loads((tmp_path / "config.json").read_text())
    assert list(saved) == list(GROUPS)
    assert saved["recipe"]["model"] == "cgan" and saved["optimiser"]["epochs"] == 28
    assert saved["data"]["seed"] == 3 and saved["outputs"]["eval_every"] == 2
    assert saved["speed"]["mixed_precision"] == "auto"
    assert TrainConfig.load(tmp_path / "config.json") == config
    # every field sits in exactly one group
    assert sorted(k for group in saved.values() for k in group) == sorted(config.to_dict())


def test_a_flat_config_of_an_older_run_loads_with_its_null_penalty_meaning_none(tmp_path):
    import json

    old = {**TrainConfig(model="cgan", penalty="none").to_dict(), "penalty": None, "gamma": None}
    (tmp_path / "config.json").write_text(json.dumps(old))
    loaded = TrainConfig.load(tmp_path / "config.json")
    assert loaded.penalty == "none" and loaded == TrainConfig(model="cgan", penalty="none")
    # records wrote null for "off" too: today that is 0
    offs = ("limit", "budget_minutes", "save_every", "eval_every", "ema_rampup")
    (tmp_path / "offs.json").write_text(json.dumps({**TrainConfig().to_dict(), **dict.fromkeys(offs)}))
    assert TrainConfig.load(tmp_path / "offs.json") == TrainConfig(ema_rampup=0.0)
    (tmp_path / "bad.json").write_text(json.dumps({"recipe": {"model": "mlp"}, "optimiser": 3}))
    with pytest.raises(GanMnistError, match="each group"):
        TrainConfig.load(tmp_path / "bad.json")


@pytest.mark.parametrize("model, growth", [("self_resize", 2.0), ("cgan", 2.0), ("mlp", 0.5)])
def test_records_from_before_d_growth_load_with_the_layout_their_discriminator_had(model, growth, tmp_path):
    import json

    record = TrainConfig(model=model).grouped()
    del record["recipe"]["d_growth"]
    (tmp_path / "config.json").write_text(json.dumps(record))
    assert TrainConfig.load(tmp_path / "config.json").d_growth == growth
    # a partial config (a preset file, a user's dict) takes the architecture's row as every missing field does
    assert TrainConfig.from_dict({"model": model}).d_growth == ARCHITECTURES[model].defaults["d_growth"]


def test_every_architecture_row_sets_every_field_it_decides():
    for name, arch in ARCHITECTURES.items():
        config = TrainConfig(model=name)
        assert {field: getattr(config, field) for field in ARCHITECTURE_FIELDS} == arch.defaults, name


@pytest.mark.parametrize("old, new", [(True, "bf16"), (False, "off")])
def test_records_from_when_mixed_precision_was_a_boolean_still_load(old, new, tmp_path):
    import json

    config = TrainConfig(model="cgan", seed=1)
    record = {**config.grouped(), "speed": {**config.grouped()["speed"], "mixed_precision": old}}
    (tmp_path / "config.json").write_text(json.dumps(record))
    assert TrainConfig.load(tmp_path / "config.json") == config.replace(mixed_precision=new)
    (tmp_path / "preset.json").write_text(json.dumps({"mixed_precision": old}))  # a preset file, flat
    from gan_mnist.config import read_fields

    assert read_fields(tmp_path / "preset.json") == {"mixed_precision": new}
    assert TrainConfig(mixed_precision=old).mixed_precision == new  # and in Python


def test_config_json_keeps_what_ran_beside_what_was_asked_and_loads_without_it(tmp_path):
    import json

    config = TrainConfig(model="cgan")
    config.save(tmp_path / "config.json", ran={"mixed_precision": "off", "why": "no bf16 here", "device": "CPU"})
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["speed"]["mixed_precision"] == "auto" and saved["ran"]["mixed_precision"] == "off"
    assert TrainConfig.load(tmp_path / "config.json") == config


def test_one_table_names_every_preset_once():
    # the default runs `bench` times and the leaderboard's rows are presets too, each name one config
    from gan_mnist.presets import BENCHED, DEFAULT_RUNS, LEADERBOARD

    assert set(DEFAULT_RUNS) | set(LEADERBOARD) | set(BENCHED) <= set(PRESETS)
    assert len({*DEFAULT_RUNS, *LEADERBOARD}) == len(DEFAULT_RUNS) + len(LEADERBOARD)
    assert TrainConfig.preset("default") == TrainConfig() and TrainConfig.preset("default-cgan").model == "cgan"
    for name in PRESETS:  # every preset is a valid config
        TrainConfig.preset(name)
