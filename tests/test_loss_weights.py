import numpy as np
import torch

from nvcodec.encoder.loss_weights import canny, pixel_weights


def test_weights_have_mean_one_and_keep_the_shape(tiny_clip) -> None:
    weights = pixel_weights(tiny_clip)
    assert weights.shape == tiny_clip.shape[:3] and weights.dtype == torch.float16
    assert abs(weights.float().mean().item() - 1.0) < 1e-2
    assert weights.min() > 0


def test_flat_static_clip_gets_uniform_weights() -> None:
    weights = pixel_weights(np.full((3, 10, 12, 3), 90, np.uint8))
    torch.testing.assert_close(weights.float(), torch.ones(3, 10, 12), atol=1e-3, rtol=0)


def test_detail_and_motion_weigh_more() -> None:
    frames = np.full((3, 32, 32, 3), 40, np.uint8)
    frames[:, :, 16:] = 200  # a vertical edge in every frame
    frames[1, 2:6, 2:6] = 255  # a blob that appears in frame 1 only
    weights = pixel_weights(frames).float()
    flat = weights[0, 20, 5]
    assert weights[0, 20, 15:17].max() > flat * 1.5  # the edge
    assert weights[1, 3, 3] > flat * 1.5  # the change


def test_canny_finds_a_square_outline() -> None:
    image = torch.zeros(40, 40)
    image[10:30, 10:30] = 1.0
    edges = canny(image)
    assert set(edges.unique().tolist()) <= {0.0, 1.0}
    assert edges[20, 8:12].sum() >= 1 and edges[20, 28:32].sum() >= 1
    assert edges[20, 15:25].sum() == 0 and edges[:5].sum() == 0
    # Non-maximum suppression keeps the outline thin.
    assert edges[20].sum() <= 4
