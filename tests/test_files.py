"""util.files: an interrupted write leaves nothing behind; tables round-trip; the run layout's names."""

import os

import numpy as np
import pytest

from util import files


def test_atomic_write_replaces_only_when_the_block_succeeds(tmp_path):
    path = str(tmp_path / "sub" / "table.csv")
    files.write_text(path, "old\n")
    with pytest.raises(RuntimeError):
        with files.atomic_path(path) as temp:
            with open(temp, "w") as handle:
                handle.write("half a tab")
            raise RuntimeError("interrupted")
    assert open(path).read() == "old\n"
    assert os.listdir(tmp_path / "sub") == ["table.csv"]


def test_temporary_name_is_hidden_in_the_same_folder_and_keeps_the_extension(tmp_path):
    temp = files.temp_name(str(tmp_path / "bird.wav"))
    assert os.path.dirname(temp) == str(tmp_path)
    assert os.path.basename(temp).startswith(".bird.wav.part") and temp.endswith(".wav")


def test_csv_round_trip_with_float_cells_and_empty_nan(tmp_path):
    path = str(tmp_path / "occupancy.csv")
    files.write_csv(path, ["class", "share", "seconds"],
                    [{"class": "bird", "share": np.float32(0.25), "seconds": float("nan")},
                     {"class": "insect", "share": 1 / 3, "seconds": 2.0}])
    rows = files.read_csv_rows(path)
    assert rows == [{"class": "bird", "share": "0.25", "seconds": ""},
                    {"class": "insect", "share": "0.333333", "seconds": "2"}]


def test_csv_rows_may_leave_columns_out_but_not_add_any(tmp_path):
    path = str(tmp_path / "t.csv")
    files.write_csv(path, ["a", "b", "c"], [{"c": True, "a": np.int64(3)}, {"b": None, "a": "x,y"}])
    assert open(path).read() == 'a,b,c\n3,,True\n"x,y",,\n'
    with pytest.raises(ValueError, match="t.csv: row keys not among the columns: \\['z'\\]"):
        files.write_csv(path, ["a"], [{"a": 1, "z": 2}])
    assert open(path).read() == 'a,b,c\n3,,True\n"x,y",,\n'    # the earlier table is left as it was


def test_tsv_written_and_read_with_tabs(tmp_path):
    path = str(tmp_path / "a.selections.txt")
    files.write_csv(path, ["Selection", "Species"], [{"Selection": 1, "Species": "Eurasian Jay"}], delimiter="\t")
    assert open(path).read() == "Selection\tSpecies\n1\tEurasian Jay\n"
    assert files.read_tsv_rows(path) == [{"Selection": "1", "Species": "Eurasian Jay"}]


def test_log_rows_are_appended_under_one_header(tmp_path):
    path = str(tmp_path / files.METRICS_LOG)
    files.append_csv_row(path, {"epoch": 1, "pixel_f1": 0.5})
    files.append_csv_row(path, {"epoch": 2, "pixel_f1": 0.6})
    assert [r["epoch"] for r in files.read_csv_rows(path)] == ["1", "2"]
    assert open(path).read().count("epoch") == 1


def test_layout_names_follow_pix2pix_and_the_published_weights():
    assert files.split_folder("input_img", "train", "species") == os.path.join("input_img", "train_species_samples")
    assert files.net_file("out_gan_mdl/species", "latest", "D") == os.path.join("out_gan_mdl/species", "latest_net_D.pth")
    assert files.level_generator_file("out_gan_mdl", "community") == os.path.join("out_gan_mdl", "community_net_G.pth")
