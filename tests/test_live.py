"""ganlib.live: one refreshing view, cheap updates, a terminal fallback, the trainer adapter."""

from __future__ import annotations

import base64
import io
import math
import textwrap
from types import SimpleNamespace

import nbformat
import pytest
import torch
from PIL import Image

from ganlib import live
from ganlib.live import LiveView
from tests.history_standins import History, old_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class FakeDisplay:
    """Stands in for IPython.display.display: records new outputs and in-place updates."""

    def __init__(self) -> None:
        self.shown: list = []
        self.updates: list = []

    def __call__(self, obj, display_id=None):
        assert display_id is True, "the view must ask for a display handle"
        self.shown.append(obj)
        return SimpleNamespace(update=self.updates.append)


def losses(steps: int) -> dict[str, list[float]]:
    return {
        "d_loss": [1.0 / (i + 1) for i in range(steps)],
        "g_loss": [2.0 + i for i in range(steps)],
    }


def snapshots(steps: int, every: int = 10) -> list[tuple[int, torch.Tensor]]:
    """(step, uint8 images) every ``every`` steps, as the trainer keeps them."""
    return [
        (s, torch.full((4, 1, 8, 8), s % 256, dtype=torch.uint8))
        for s in range(every, steps + 1, every)
    ]


def history(steps: int) -> History:
    """What ganlib.train.History holds after ``steps`` steps of a GAN step function."""
    return History(values={**losses(steps), "d_real": [0.5] * steps}, samples=snapshots(steps))


def test_outside_a_kernel_the_view_prints_one_short_line_per_refresh(capsys):
    assert not live.in_notebook()  # pytest has no IPython kernel
    view = LiveView(every=50, title="toy")
    assert not view.notebook
    for step in range(1, 201):
        view.update(step, d_loss=0.5, g_loss=1.5, images=torch.zeros(4, 1, 8, 8))
    view.close()
    lines = capsys.readouterr().out.strip().splitlines()
    assert view.frames == 5  # steps 50, 100, 150, 200 and the final frame
    assert len(lines) == 5
    assert lines[0] == "toy | step 50 | D loss 0.500 | G loss 1.500"
    assert lines[-1].startswith("done: toy | step 200")
    assert len(view.values["d_loss"]) == 200  # every step recorded, even between refreshes


def test_update_redraws_only_when_a_new_multiple_of_every_is_reached(monkeypatch):
    view = LiveView(every=10, notebook=True)
    display = FakeDisplay()
    monkeypatch.setattr("IPython.display.display", display)
    redrawn = [step for step in range(0, 35) if view.update(step, d_loss=1.0, g_loss=1.0)]
    assert redrawn == [10, 20, 30]
    # sparse steps (a trainer's callback every 7 steps) still refresh once per 10 steps
    sparse = LiveView(every=10, notebook=True)
    assert [s for s in range(7, 50, 7) if sparse.update(s, d_loss=1.0, g_loss=1.0)] == [
        14,
        21,
        35,
        42,
    ]


def test_notebook_view_uses_one_display_handle_and_updates_it(monkeypatch):
    display = FakeDisplay()
    monkeypatch.setattr("IPython.display.display", display)
    view = LiveView(every=25, title="MLP GAN", notebook=True)
    images = torch.rand(16, 1, 28, 28) * 2 - 1
    for step in range(1, 101):
        view.update(step, d_loss=1.0, g_loss=2.0, images=images)
    view.close()
    view.close()  # closing twice draws nothing more
    assert len(display.shown) == 1, "a view must own exactly one output area"
    assert len(display.updates) == view.frames - 1 == 4
    png = display.updates[-1].data
    assert png.startswith(PNG_MAGIC)
    width, height = Image.open(io.BytesIO(png)).size
    assert width > 300 and height > 150
    with pytest.raises(RuntimeError, match="closed"):
        view.update(101, d_loss=1.0, g_loss=1.0)


def test_render_shows_losses_and_samples_and_rejects_bad_images():
    view = LiveView(every=1, notebook=False)
    losses_only = view.render_png()
    assert losses_only.startswith(PNG_MAGIC)
    view.update(1, d_loss=0.7, g_loss=0.9, images=torch.zeros(8, 3, 16, 16, dtype=torch.uint8))
    with_images = view.render_png()
    assert with_images.startswith(PNG_MAGIC) and with_images != losses_only
    view.images = torch.zeros(8, 5, 16, 16)  # 5 channels is no image
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        view.render_png()


def test_close_shows_the_latest_images_even_between_refreshes():
    view = LiveView(every=10, notebook=False)
    for step in range(1, 16):
        view.update(step, d_loss=1.0, g_loss=1.0, images=torch.full((2, 1, 4, 4), step / 100))
    assert view.images_step == 10  # the refresh at step 10 copied that step's images
    view.close()
    assert view.images_step == 15 and torch.allclose(view.images, torch.full((2, 1, 4, 4), 0.15))


@pytest.mark.parametrize("every", [0, -3, 2.5, True])
def test_every_must_be_a_positive_int(every):
    with pytest.raises(ValueError, match="every must be a positive int"):
        LiveView(every=every)


@pytest.mark.parametrize(
    "make",
    [
        history,
        lambda steps: old_history(**losses(steps), d_real=[0.5] * steps, samples=snapshots(steps)),
        lambda steps: {**losses(steps), "samples": snapshots(steps)},  # a dict of lists
    ],
    ids=["History", "old History", "dict"],
)
def test_callback_adapter_reads_the_history(monkeypatch, make):
    view = LiveView(every=20, notebook=False)
    drawn, draw = [], view._draw

    def counting_draw(final: bool = False) -> None:
        drawn.append(len(view.steps))
        draw(final)

    monkeypatch.setattr(view, "_draw", counting_draw)
    for step in range(10, 61, 10):  # the trainer calls back every sample_every = 10 steps
        view.callback(step, make(step))
    assert drawn == [20, 40, 60]
    assert view.values == losses(60), "the losses, not d_real"
    assert view.steps == list(range(1, 61))
    assert torch.equal(view.images, snapshots(60)[-1][1])
    view.callback(70, make(70), torch.nn.Identity())  # trainers used to pass G as well
    assert view.steps[-1] == 70


def test_callback_shows_the_losses_of_a_cyclegan_step(capsys):
    view = LiveView(every=5, title="CycleGAN", notebook=False)
    h = History()
    for step in range(1, 11):  # a learner's CycleGAN step: no d_loss
        h.append(g_loss=3.0, d_a_loss=0.25, d_b_loss=0.5, cycle=1.0, identity=0.5, d_real=0.9)
        if step % 5 == 0:
            view.callback(step, h)
    assert list(view.values) == ["g_loss", "d_a_loss", "d_b_loss", "cycle", "identity"]
    assert capsys.readouterr().out.splitlines()[-1] == (
        "CycleGAN | step 10 | G loss 3.000 | d_a_loss 0.250 | d_b_loss 0.500 | cycle 1.000 "
        "| identity 0.500"
    )
    assert view.render_png().startswith(PNG_MAGIC)


def test_callback_rejects_what_is_no_history():
    view = LiveView(every=20, notebook=False)
    with pytest.raises(TypeError, match="History or a dict.*got object"):
        view.callback(10, object())
    with pytest.raises(TypeError, match="got Linear"):
        view.callback(10, torch.nn.Linear(2, 1))  # the model in the history's place
    with pytest.raises(ValueError, match=r"no losses to show \(it has errD, errG\)"):
        view.callback(10, History(values={"errD": [1.0], "errG": [2.0]}))
    with pytest.raises(TypeError, match="'d_loss' must be a list with one number per step"):
        view.callback(10, {"d_loss": 0.5})  # one step's dict, not a history
    view.callback(10, History())  # no steps yet: nothing to show, nothing wrong
    assert view.steps == []


def test_update_records_any_losses_and_rejects_non_numbers():
    view = LiveView(every=100, notebook=False)
    view.update(1, d_loss=torch.tensor(0.5), g_loss=1.0)
    view.update(2, g_loss=2.0, cycle=3.0)  # a name seen late: NaN before, NaN when missing
    assert view.steps == [1, 2]
    assert view.values["d_loss"][0] == 0.5 and math.isnan(view.values["d_loss"][1])
    assert math.isnan(view.values["cycle"][0]) and view.values["cycle"][1] == 3.0
    with pytest.raises(TypeError, match=r"g_loss must be a number.*shape \(4,\)"):
        view.update(3, g_loss=torch.zeros(4))


def test_callback_plugs_into_fit_gan(capsys):
    from ganlib import models, train

    G = models.MLPGenerator(z_dim=4, hidden=(8,), image_shape=(1, 4, 4))
    D = models.MLPDiscriminator(hidden=(8,), image_shape=(1, 4, 4))
    batches = [torch.rand(8, 1, 4, 4) * 2 - 1 for _ in range(5)]
    view = LiveView(every=20, title="fit", notebook=False)
    history = train.fit_gan(
        G, D, batches, z_dim=4, steps=40, sample_every=10, n_fixed=4,
        device="cpu", progress=False, callback=view.callback,
    )  # fmt: skip
    view.close()
    assert view.values["d_loss"] == history.d_loss and view.steps == list(range(1, 41))
    assert view.frames == 3  # steps 20 and 40, then the final frame
    assert torch.equal(view.images, history.samples[-1][1])
    assert capsys.readouterr().out.count("fit | step") == 3


def test_executed_notebook_holds_one_image_per_view(tmp_path):
    """In a real kernel (as under papermill) 300 steps leave a single picture, not 6."""
    nbclient = pytest.importorskip("nbclient")
    code = textwrap.dedent(
        """
        import torch
        from ganlib.live import LiveView
        view = LiveView(every=60, title="kernel test")
        for step in range(1, 301):
            view.update(step, d_loss=1 / step, g_loss=step / 300, images=torch.zeros(4, 1, 8, 8))
        view.close()
        print(view.frames, view.notebook)
        """
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3")
    client.execute(cwd=str(tmp_path))
    outputs = nb.cells[0].outputs
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    texts = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert len(images) == 1, [o.output_type for o in outputs]
    assert texts.split() == ["6", "True"]  # 5 refreshes + the final frame, inside a kernel
    assert base64.b64decode(images[0]["data"]["image/png"]).startswith(PNG_MAGIC)
