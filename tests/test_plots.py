"""`train --plot`: every figure of every bundled data set shows every label inside the figure, a legend on every
panel, the file formats, smooth decision regions, and one line when matplotlib (the plot extra) is missing."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from tutor.engine.training import TrainOptions, dense_network, initial_weights, predict, train  # noqa: E402
from tutor.model.activations import make_activation  # noqa: E402
from tutor.model.losses import make_loss  # noqa: E402
from tutor.model.optimizers import make_optimizer  # noqa: E402
from tutor.problem.datasets import DATASETS, Dataset, make_dataset  # noqa: E402
from tutor.views.plots import class_margins, make_figures  # noqa: E402


def trained_figures(data: Dataset, epochs: int = 40, validation: bool = True) -> dict:
    """The figures of a small network trained briefly on `data` (one output for two classes, softmax for more)."""
    classes = int(data.labels.max()) + 1
    outputs = 1 if classes == 2 else classes
    shape = (data.features.shape[1], 6, outputs)
    weights = initial_weights(shape, "xavier", np.random.default_rng(1))
    network = dense_network(weights, [np.zeros(6), np.zeros(outputs)],
                            [make_activation("tanh"), make_activation("sigmoid" if outputs == 1 else "softmax")],
                            make_loss("mse" if outputs == 1 else "cross_entropy"), 0.05)
    targets = data.labels[:, None].astype(float) if outputs == 1 else np.eye(classes)[data.labels]
    result = train(network, data.features, targets, TrainOptions(epochs=epochs),
                   optimizer=make_optimizer({"name": "adam"}))
    held = result.history * 1.1 if validation else None
    return make_figures(result.history, held, data.features, data.labels, predict(result.network, data.features),
                        lambda x: predict(result.network, x), data.feature_names)


def drawn_texts(figure) -> list[Text]:
    """Every text the figure draws (titles, axis and tick labels, legends), after drawing it with Agg; a tick
    outside the axis's view (kept by matplotlib, never drawn) does not count."""
    FigureCanvasAgg(figure)
    figure.canvas.draw()
    undrawn = set()
    for axes in figure.axes:
        box = axes.get_window_extent()
        for index, axis in enumerate((axes.xaxis, axes.yaxis)):
            low, high = (box.x0, box.x1) if index == 0 else (box.y0, box.y1)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                point = (tick.get_loc(), 1.0) if index == 0 else (1.0, tick.get_loc())
                where = axes.transData.transform(point)[index]  # pixels
                if not low - 1 <= where <= high + 1:
                    undrawn |= {id(tick.label1), id(tick.label2)}
    return [text for text in figure.findobj(Text)
            if text.get_visible() and text.get_text().strip() and id(text) not in undrawn]


def assert_every_text_inside(figure, name: str) -> None:
    texts = drawn_texts(figure)
    renderer = figure.canvas.get_renderer()
    box = figure.bbox
    assert texts
    tight = figure.get_tightbbox(renderer)  # inches: everything drawn, ticks and legends included
    assert 0 <= tight.x0 and tight.x1 <= figure.get_figwidth() and 0 <= tight.y0 and tight.y1 <= figure.get_figheight()
    for text in texts:
        extent = text.get_window_extent(renderer)
        assert box.x0 - 0.5 <= extent.x0 and extent.x1 <= box.x1 + 0.5, (name, text.get_text(), extent, box)
        assert box.y0 - 0.5 <= extent.y0 and extent.y1 <= box.y1 + 0.5, (name, text.get_text(), extent, box)


LONG_NAMES = Dataset(np.random.default_rng(2).normal(size=(40, 2)) * [1000.0, 0.001],
                     np.arange(40) % 2, None, ("petal length in millimetres", "sepal width in kilometres"), "long.csv")


@pytest.mark.parametrize("data", [make_dataset(name) for name in DATASETS] + [LONG_NAMES],
                         ids=[*DATASETS, "long-names"])
def test_every_figure_shows_every_label_and_a_legend_on_every_panel(data):
    figures = trained_figures(data)
    assert list(figures) == ["learning_curve", "comparison", "decision_boundary"]
    for name, figure in figures.items():
        assert_every_text_inside(figure, name)
        for axes in figure.axes:
            legend = axes.get_legend()
            assert legend is not None and legend.get_visible(), (name, axes.get_title())
            assert axes.get_xlabel() and axes.get_ylabel() and axes.get_title()
    labels = [t.get_text() for t in figures["decision_boundary"].axes[0].get_legend().get_texts()]
    classes = sorted(set(data.labels.tolist()))
    assert labels == [f"class {k}" for k in classes] + ["boundary"]


def test_a_diverged_curve_still_fits(tmp_path):
    history = np.array([1.0, 10.0, 1e10, np.inf])
    figures = make_figures(history, None, np.zeros((3, 3)), None, np.zeros((3, 1)), lambda x: x)
    assert list(figures) == ["learning_curve"]
    assert_every_text_inside(figures["learning_curve"], "learning_curve")


def test_class_margins_are_positive_exactly_where_the_class_is_predicted():
    rng = np.random.default_rng(0)
    for outputs in (rng.uniform(size=(200, 1)), rng.uniform(size=(200, 3)), rng.uniform(size=(200, 5))):
        margins = class_margins(outputs)
        predicted = (outputs[:, 0] >= 0.5).astype(int) if outputs.shape[1] == 1 else outputs.argmax(axis=1)
        assert np.array_equal(margins.argmax(axis=1), predicted)
        assert np.all(margins[np.arange(200), predicted] > 0)
        others = np.ones_like(margins, dtype=bool)
        others[np.arange(200), predicted] = False
        assert np.all(margins[others] < 0)


def test_the_boundary_is_drawn_as_lines_where_the_class_changes():
    figure = trained_figures(make_dataset("spirals", 30), epochs=60)["decision_boundary"]
    axes = figure.axes[0]
    lines = [path for collection in axes.collections if hasattr(collection, "get_paths")
             and list(collection.get_edgecolor()[:1].ravel()[:3]) == [0, 0, 0] for path in collection.get_paths()]
    assert any(len(path.vertices) > 20 for path in lines)  # curves, not single segments


@pytest.mark.parametrize("file_format, magic", [("png", b"\x89PNG\r\n\x1a\n"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_plot_formats(invoke, tmp_path, file_format, magic):
    result = invoke("train", "--shape", "2-4-1", "--data", "xor-easy", "--epochs", "5", "--seed", "1", "--plot",
                    str(tmp_path / "figures"), "--plot-format", file_format, "--format", "plain")
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert names == [f"{n}.{file_format}" for n in ("comparison", "decision_boundary", "learning_curve")]
    assert all((tmp_path / "figures" / n).read_bytes().startswith(magic) for n in names)


def test_plot_without_matplotlib_says_how_to_install_it(invoke, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    result = invoke("train", "--shape", "2-4-1", "--data", "xor-easy", "--epochs", "5", "--plot", str(tmp_path / "f"))
    assert result.exit_code == 2
    assert result.stderr == "error: --plot needs matplotlib, which comes with the plot extra: pip install " \
                            "'backprop-tutor[plot]'\n"
    assert result.stdout == "" and not (tmp_path / "f").exists()  # refused before training
    assert invoke("train", "--shape", "2-4-1", "--data", "xor-easy", "--epochs", "5").exit_code == 0


def test_a_long_curve_is_drawn_through_its_extremes():
    from tutor.views.plots import CURVE_POINTS, curve_points

    assert list(curve_points(np.arange(50.0))) == list(range(50))
    values = np.exp(-np.linspace(0, 5, 20001))
    values[12345] = 3.0  # a spike of one mini-batch epoch
    values[777] = -1.0
    shown = curve_points(values)
    assert len(shown) <= CURVE_POINTS + 2 and shown[0] == 0 and shown[-1] == 20000
    assert 12345 in shown and 777 in shown and np.all(np.diff(shown) > 0)
    figure = make_figures(values, values * 1.1, np.zeros((3, 3)), None, np.zeros((3, 1)), lambda x: x)
    lines = figure["learning_curve"].axes[0].get_lines()
    assert [len(line.get_xdata()) for line in lines] == [len(shown)] * 2
    assert max(line.get_ydata().max() for line in lines) == pytest.approx(3.3)
