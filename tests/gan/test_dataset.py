"""util.dataset: A|B pairs become [-1, 1] tensors; crops cut time only, reproducibly."""

import numpy as np
import pytest
import torch

from util.errors import UserError
from util.gan.dataset import AlignedPairDataset, label_statistics
from util.gan.images import to_pixels
from util.labels.pairs import write_pair


def _write_pairs(folder, n=3, height=16, width=16, seed=0):
    """Pairs whose A column c holds value c (so a crop's offset can be read back) and a random B."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        spec = np.tile((np.arange(width) + 10 * i) % 256, (height, 1)).astype(np.uint8)
        spec[0, 0], spec[1, 0] = 0, 255  # the extremes of the scale
        label = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        write_pair(str(folder / f"pair_{i:02d}.png"), spec, label, {"n_fft": 512})
    return folder


def test_pixels_scale_to_minus_one_plus_one(tmp_path):
    ds = AlignedPairDataset(str(_write_pairs(tmp_path)))
    item = ds[0]
    assert item["A"].dtype == torch.float32 and item["B"].dtype == torch.float32
    assert item["A"][0, 0, 0] == -1.0 and item["A"][0, 1, 0] == 1.0
    assert torch.allclose(item["A"][0, 5, 3], torch.tensor(3 / 127.5 - 1))
    assert item["A"].min() >= -1 and item["B"].max() <= 1


def test_channels_one_grey_in_three_colour_out(tmp_path):
    folder = _write_pairs(tmp_path)
    one = AlignedPairDataset(str(folder))[1]
    three = AlignedPairDataset(str(folder), input_nc=3)[1]
    assert one["A"].shape == (1, 16, 16) and one["B"].shape == (3, 16, 16)
    assert three["A"].shape == (3, 16, 16)
    assert torch.equal(three["A"][2], one["A"][0])


def test_pairs_sorted_by_name_and_path_returned(tmp_path):
    ds = AlignedPairDataset(str(_write_pairs(tmp_path)))
    assert [p.rsplit("/", 1)[-1] for p in ds.paths] == ["pair_00.png", "pair_01.png", "pair_02.png"]
    assert ds[2]["path"].endswith("pair_02.png")


def test_round_trip_to_pixels_is_exact(tmp_path):
    folder = _write_pairs(tmp_path)
    item = AlignedPairDataset(str(folder))[0]
    from util.labels.pairs import read_pair
    spec, label, _ = read_pair(item["path"])
    assert np.array_equal(to_pixels(item["A"]), spec)
    assert np.array_equal(to_pixels(item["B"]), label)


def test_crop_cuts_time_columns_only_at_full_height(tmp_path):
    folder = _write_pairs(tmp_path, width=40)
    ds = AlignedPairDataset(str(folder), preprocess="crop", crop_size=16, seed=3)
    item = ds[0]
    assert item["A"].shape == (1, 16, 16) and item["B"].shape == (3, 16, 16)
    columns = torch.round((item["A"][0, 5] + 1) * 127.5).long()
    start = int(columns[0])
    assert torch.equal(columns, torch.arange(start, start + 16))  # consecutive frames
    whole = AlignedPairDataset(str(folder))[0]
    assert torch.equal(item["B"], whole["B"][..., start:start + 16])


def test_crop_is_reproducible_from_seed_and_varies(tmp_path):
    folder = _write_pairs(tmp_path, n=3, width=200)
    starts = lambda ds: [int(torch.round((ds[i]["A"][0, 5, 0] + 1) * 127.5)) - 10 * i for i in range(3)]
    first = AlignedPairDataset(str(folder), preprocess="crop", crop_size=16, seed=7)
    again = AlignedPairDataset(str(folder), preprocess="crop", crop_size=16, seed=7)
    assert starts(first) == starts(again)
    other_epoch = AlignedPairDataset(str(folder), preprocess="crop", crop_size=16, seed=7)
    other_epoch.set_epoch(1)
    other_seed = AlignedPairDataset(str(folder), preprocess="crop", crop_size=16, seed=8)
    assert starts(first) != starts(other_epoch) or starts(first) != starts(other_seed)


def test_crop_wider_than_pair_names_file(tmp_path):
    ds = AlignedPairDataset(str(_write_pairs(tmp_path, width=16)), preprocess="crop", crop_size=32)
    with pytest.raises(UserError, match="pair_00.png"):
        ds[0]


def test_empty_folder_is_user_error_naming_it(tmp_path):
    (tmp_path / "notes.txt").write_text("not a pair")
    with pytest.raises(UserError, match=str(tmp_path)):
        AlignedPairDataset(str(tmp_path))


def test_missing_folder_is_user_error_naming_it(tmp_path):
    with pytest.raises(UserError, match="no_such_folder"):
        AlignedPairDataset(str(tmp_path / "no_such_folder"))


def test_bad_options_are_user_errors(tmp_path):
    folder = str(_write_pairs(tmp_path))
    with pytest.raises(UserError, match="input_nc"):
        AlignedPairDataset(folder, input_nc=2)
    with pytest.raises(UserError, match="preprocess"):
        AlignedPairDataset(folder, preprocess="resize_and_crop")


def test_label_statistics_count_colours_and_each_pairs_labelled_share(tmp_path):
    colors = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255]], dtype=np.uint8)
    spec = np.zeros((8, 8), np.uint8)
    for i, (n_red, n_blue) in enumerate([(0, 0), (16, 4), (64, 0)]):
        label = np.zeros((8, 8, 3), np.uint8)
        label.reshape(-1, 3)[:n_red] = colors[1]
        label.reshape(-1, 3)[n_red:n_red + n_blue] = [10, 5, 240]  # near blue: read as blue
        write_pair(str(tmp_path / f"p{i}.png"), spec, label, None)
    counts, foreground, presence = label_statistics(AlignedPairDataset(str(tmp_path)), colors)
    assert counts.tolist() == [192 - 84, 80, 4]
    assert foreground == pytest.approx([0.0, 20 / 64, 1.0])
    assert presence.tolist() == [[True, False, False], [True, True, True], [False, True, False]]
