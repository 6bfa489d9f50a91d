"""Latent tools: slerp/lerp, expressions, `latent interpolate` and `latent arithmetic` on checkpoints."""

import math

import pytest
import torch
from PIL import Image

from flik_lab.commands.latent_arithmetic import latent_arithmetic
from flik_lab.commands.latent_interpolate import interpolate_latents
from flik_lab.commands.sample import sample
from flik_lab.latent.expression import Term, parse_expression
from flik_lab.latent.gan_checkpoint import load_gan
from flik_lab.latent.interpolation import interpolate, lerp, slerp
from flik_lab.training import train

from .helpers.config import compose_config
from .helpers.images import write_celeba_tree


def test_slerp_stays_on_the_prior_shell_lerp_does_not():
    d = 100
    z = torch.randn(200, 2, d, generator=torch.Generator().manual_seed(0))
    half = torch.tensor([0.5])
    mid_slerp = torch.stack([slerp(a, b, half)[0] for a, b in z]).norm(dim=1)
    mid_lerp = torch.stack([lerp(a, b, half)[0] for a, b in z]).norm(dim=1)
    typical = math.sqrt(d)  # the norm of d-dimensional standard Gaussian samples concentrates here
    assert abs(mid_slerp.mean().item() - typical) < 0.05 * typical
    assert abs(mid_lerp.mean().item() - math.sqrt(d / 2)) < 0.05 * typical  # inside the shell
    assert mid_lerp.mean() < 0.8 * typical


def test_interpolation_endpoints_and_parallel_fallback():
    a, b = torch.randn(16), torch.randn(16)
    for method in ("slerp", "lerp"):
        path = interpolate(a, b, 7, method)
        assert path.shape == (7, 16)
        assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    parallel = interpolate(a, 2 * a, 5, "slerp")  # no unique great circle: falls back to lerp
    assert torch.allclose(parallel, interpolate(a, 2 * a, 5, "lerp")) and torch.isfinite(parallel).all()
    with pytest.raises(ValueError, match="steps=1"):
        interpolate(a, b, 1)
    with pytest.raises(ValueError, match="method='cubic'"):
        interpolate(a, b, 3, "cubic")


def test_expressions_parse_and_bad_ones_are_named():
    assert parse_expression("7 - 1 + 0") == [Term(1, "7"), Term(-1, "1"), Term(1, "0")]
    terms = parse_expression("Smiling + Male - Male + Female", {"Female": "~Male"})
    assert terms == [Term(1, "Smiling"), Term(1, "Male"), Term(-1, "Male"), Term(1, "~Male")]
    assert parse_expression("-(3 - ~Eyeglasses)") == [Term(-1, "3"), Term(1, "~Eyeglasses")]
    with pytest.raises(ValueError, match="does not parse"):
        parse_expression("7 -")
    with pytest.raises(ValueError, match="cannot use '7 \\* 2'"):
        parse_expression("1 + 7 * 2")


def _interpolate(run, ckpt, *overrides):
    return interpolate_latents(compose_config("latent_interpolate", run, [f"ckpt_path={ckpt}", *overrides]))


@pytest.mark.slow
def test_interpolate_writes_grid_gif_and_is_seeded(trained_gan, tmp_path):
    ckpt = trained_gan / "checkpoints" / "last.ckpt"
    files = _interpolate(tmp_path / "a", ckpt, "pairs=3", "steps=5", "method=lerp")
    grid = Image.open(files["png"])
    assert grid.size == (5 * 30 + 2, 3 * 30 + 2)  # one row per pair, one column per step
    gif = Image.open(files["gif"])
    assert gif.n_frames == 2 * 5 - 2  # forth and back
    assert min(gif.size) >= 256  # a readable size, not 32 pixels high
    again = _interpolate(tmp_path / "b", ckpt, "pairs=3", "steps=5", "method=lerp")
    assert torch.equal(torch.load(files["pt"])["latents"], torch.load(again["pt"])["latents"])
    with pytest.raises(FileExistsError):
        _interpolate(tmp_path / "a", ckpt, "pairs=3", "steps=5", "method=lerp")


@pytest.mark.slow
def test_interpolate_between_saved_samples_decodes_their_images(trained_gan, tmp_path):
    ckpt = trained_gan / "checkpoints" / "last.ckpt"
    sample(compose_config("sample", tmp_path / "s", [f"ckpt_path={ckpt}", "num_samples=6"]))
    saved = torch.load(tmp_path / "s" / "samples.latents.pt")
    files = _interpolate(
        tmp_path / "i",
        ckpt,
        f"latents={tmp_path / 's' / 'samples.latents.pt'}",
        "pairs=[[0,3],[5,1]]",
        "steps=4",
    )
    paths = torch.load(files["pt"])["latents"]
    assert torch.allclose(paths[:, 0], saved[[0, 5]], atol=1e-5)
    assert torch.allclose(paths[:, -1], saved[[3, 1]], atol=1e-5)
    gan, _ = load_gan(str(ckpt))
    with torch.no_grad():
        assert torch.allclose(gan(paths[:, 0]), gan(saved[[0, 5]]), atol=1e-5)
    with pytest.raises(ValueError, match="index outside the 6 vectors"):
        _interpolate(
            tmp_path / "bad", ckpt, f"latents={tmp_path / 's' / 'samples.latents.pt'}", "pairs=[[0,9]]"
        )


@pytest.mark.slow
def test_arithmetic_on_mnist_writes_result_and_vectors(trained_gan, tmp_path):
    ckpt = trained_gan / "checkpoints" / "last.ckpt"
    # a GAN trained for four batches draws few confident digits: accept any argmax label here
    loose = ["confidence=0.0", "min_count=1", "num_samples=400"]
    cfg = compose_config("latent_arithmetic", tmp_path, [f"ckpt_path={ckpt}", "expr='1 - 1 + 1'", *loose])
    labels = _digit_present(ckpt)
    cfg.expr = f"{labels[0]} - {labels[-1]} + {labels[0]}"
    files = latent_arithmetic(cfg)
    saved = torch.load(files["pt"])
    assert set(saved["concepts"]) == {str(labels[0]), str(labels[-1])}
    expected = 2 * saved["concepts"][str(labels[0])] - saved["concepts"][str(labels[-1])]
    assert torch.allclose(saved["result"], expected, atol=1e-5)
    assert Image.open(files["png"]).size[0] > 500


def _digit_present(ckpt) -> list[int]:
    """Digits the tiny GAN's samples are labelled as (so the test does not depend on its training)."""
    from flik_lab.models.mnist_classifier import load_pretrained

    gan, _ = load_gan(str(ckpt))
    with torch.no_grad():
        labels = load_pretrained()(gan(gan.noise(400, torch.Generator().manual_seed(42)))).argmax(1)
    return sorted(set(labels.tolist()))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("expr", "needle"),
    [("Smiling + 1", "MNIST GAN: concepts are 0-9"), ("7 *", "does not parse"), ("12", "unknown concept")],
)
def test_arithmetic_errors_are_named(trained_gan, tmp_path, expr, needle):
    ckpt = trained_gan / "checkpoints" / "last.ckpt"
    cfg = compose_config(
        "latent_arithmetic", tmp_path, [f"ckpt_path={ckpt}", f"expr='{expr}'", "num_samples=50"]
    )
    with pytest.raises(ValueError, match=needle):
        latent_arithmetic(cfg)


@pytest.mark.slow
def test_celeba_gan_arithmetic_with_an_attribute_classifier(tmp_path):
    write_celeba_tree(tmp_path / "data", per_split=4)
    data = [
        f"paths.data_dir={tmp_path / 'data'}",
        "data.verify_md5=false",
        "data.num_workers=0",
        "data.batch_size=4",
        "data.eval_batch_size=4",
    ]
    gan_run, clf_run = tmp_path / "gan", tmp_path / "clf"
    tiny = ["model.generator.width=8", "model.discriminator.width=8", "model.latent_dim=16"]
    train(
        compose_config("train", gan_run, ["experiment=gan_celeba", *data, "debug=tiny", *tiny, "test=false"])
    )
    train(
        compose_config(
            "train",
            clf_run,
            ["experiment=celeba_attributes", *data, "debug=tiny", "model.net.width=4", "test=false"],
        )
    )
    gan_ckpt, clf_ckpt = gan_run / "checkpoints" / "last.ckpt", clf_run / "checkpoints" / "last.ckpt"

    # an attribute classifier trained for four batches is sure of nothing: count every sample
    common = [f"ckpt_path={gan_ckpt}", "confidence=0.0", "min_count=1", "num_samples=64", "num_neighbours=4"]
    files = latent_arithmetic(
        compose_config(
            "latent_arithmetic",
            tmp_path / "a",
            [*common, f"classifier_ckpt={clf_ckpt}", "expr='Smiling + Male - Male + Female'"],
        )
    )
    saved = torch.load(files["pt"])
    assert set(saved["concepts"]) == {"Smiling", "Male", "~Male"} and saved["result"].shape == (16,)
    files = _interpolate(tmp_path / "i", gan_ckpt, "pairs=2", "steps=3")
    assert Image.open(files["png"]).size == (3 * 66 + 2, 2 * 66 + 2)

    with pytest.raises(ValueError, match="CelebA GAN"):
        latent_arithmetic(
            compose_config(
                "latent_arithmetic", tmp_path / "b", [*common, f"classifier_ckpt={clf_ckpt}", "expr='7 - 1'"]
            )
        )
    with pytest.raises(ValueError, match="needs classifier_ckpt"):
        latent_arithmetic(compose_config("latent_arithmetic", tmp_path / "c", [*common, "expr=Smiling"]))
    with pytest.raises(ValueError, match="unknown concept"):
        latent_arithmetic(
            compose_config(
                "latent_arithmetic", tmp_path / "d", [*common, f"classifier_ckpt={clf_ckpt}", "expr=Smilling"]
            )
        )
    with pytest.raises(ValueError, match="not a GAN"):
        latent_arithmetic(
            compose_config("latent_arithmetic", tmp_path / "e", [f"ckpt_path={clf_ckpt}", "expr=Smiling"])
        )


@pytest.mark.slow
def test_latent_images_go_to_the_active_loggers(trained_gan, tmp_path):
    ckpt = trained_gan / "checkpoints" / "last.ckpt"
    _interpolate(tmp_path, ckpt, "pairs=2", "steps=3", "logger=tensorboard")
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
