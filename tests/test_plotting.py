"""Pictures: files written in the asked format; Chinese names drawn in a font that has them."""
import warnings

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from deltaprop import diagram, plotting  # noqa: E402


@pytest.mark.skipif(diagram.cjk_font() is None, reason="no CJK font installed")
def test_chinese_class_names_are_drawn_in_a_cjk_font(tmp_path, monkeypatch):
    font = diagram.cjk_font()
    drawn = []
    real_save = plotting.save_figure
    monkeypatch.setattr(plotting, "save_figure", lambda fig, path: drawn.append(fig) or real_save(fig, path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for boxes
        path = plotting.plot_confusion(np.array([[3, 1], [0, 4]]), ["山鸢尾", "setosa"], tmp_path / "cm.png")
    assert (tmp_path / "cm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path == tmp_path / "cm.png"
    ticks = {t.get_text(): t.get_fontfamily() for t in drawn[0].axes[0].get_yticklabels()}
    assert ticks["山鸢尾"][0] == font and ticks["setosa"] == ["sans-serif"]  # Latin text keeps the default


def test_without_a_cjk_font_texts_are_left_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(diagram, "cjk_font", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plotting.plot_confusion(np.array([[1]]), ["山"], tmp_path / "cm.svg")
    assert b"<svg" in (tmp_path / "cm.svg").read_bytes()
