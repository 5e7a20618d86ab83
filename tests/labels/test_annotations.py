import numpy as np
import pytest

from util.errors import UserError
from util.labels.annotations import (
    Box,
    boxes_to_class_map,
    check_labels,
    read_audacity_labels,
    read_raven_table,
    recording_key,
    write_raven_table,
)
from util.labels.palette import load_palette

RAVEN_HEADER = "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tSpecies\n"


def test_raven_table_with_two_views_gives_one_box_per_selection(tmp_path):
    path = tmp_path / "SITE_20240501_053000.Table.1.selections.txt"
    path.write_text(RAVEN_HEADER
                    + "1\tWaveform 1\t1\t1.5\t2.0\t1000\t3000\tJungle Nightjar\n"
                    + "1\tSpectrogram 1\t1\t1.5\t2.0\t1000\t3000\tJungle Nightjar\n"
                    + "2\tSpectrogram 1\t1\t4.0\t5.25\t2500\t5000\tLesser Cuckoo\n")
    boxes = read_raven_table(str(path))
    assert [(b.begin_s, b.end_s, b.low_hz, b.high_hz, b.label) for b in boxes] == [
        (1.5, 2.0, 1000, 3000, "Jungle Nightjar"), (4.0, 5.25, 2500, 5000, "Lesser Cuckoo")]
    assert boxes[0].recording == "SITE_20240501_053000"


def test_unknown_species_names_are_all_listed_in_one_error(tmp_path):
    path = tmp_path / "t.selections.txt"
    path.write_text(RAVEN_HEADER + "1\tSpectrogram 1\t1\t0\t1\t100\t200\tRobin\n"
                    + "2\tSpectrogram 1\t1\t0\t1\t100\t200\tWren\n3\tSpectrogram 1\t1\t0\t1\t100\t200\tEurasian Jay\n")
    with pytest.raises(UserError, match=r"t.selections.txt: label\(s\) not in the 'species' palette: 'Robin', 'Wren'"):
        check_labels(read_raven_table(str(path)), load_palette("species"), str(path))


def test_label_column_choice_and_missing_columns(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("Selection\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tAnnotation\tNotes\n"
                    "1\t0\t1\t10\t20\tbird\tloud\n")
    assert read_raven_table(str(path))[0].label == "bird"
    assert read_raven_table(str(path), label_column="Notes")[0].label == "loud"
    broken = tmp_path / "b.txt"
    broken.write_text("Selection\tBegin Time (s)\n1\t0\n")
    with pytest.raises(UserError, match="b.txt: not a Raven selection table, missing column"):
        read_raven_table(str(broken))


def test_audacity_labels_with_spectral_lines(tmp_path):
    path = tmp_path / "rec.txt"
    path.write_text("1.000000\t2.500000\tbird\n\\\t1200.5\t4800\n3.0\t3.5\tinsect\n")
    boxes = read_audacity_labels(str(path))
    assert (boxes[0].low_hz, boxes[0].high_hz, boxes[0].label) == (1200.5, 4800.0, "bird")
    assert boxes[1].high_hz == float("inf") and boxes[1].begin_s == 3.0
    assert boxes[0].recording == "rec"


def test_written_raven_table_reads_back(tmp_path):
    path = str(tmp_path / "out.selections.txt")
    write_raven_table(path, [{"Begin Time (s)": 0.5, "End Time (s)": 1.25, "Low Freq (Hz)": 100.0,
                              "High Freq (Hz)": 900.0, "Species": "human", "Begin File": "x.wav", "Score": 0.8}])
    [box] = read_raven_table(path)
    assert (box.begin_s, box.end_s, box.low_hz, box.high_hz, box.label) == (0.5, 1.25, 100.0, 900.0, "human")
    assert open(path).readline().startswith("Selection\tView\tChannel\tBegin Time (s)")


def test_recording_key_strips_raven_and_audio_suffixes():
    assert recording_key("dir/SITE_1.Table.1.selections.txt") == "SITE_1"
    assert recording_key("SITE_1.WAV") == "SITE_1"


def _tile_meta():
    return {"sr": 22050, "hop_length": 256, "n_fft": 512, "start_frame": 0, "n_valid_frames": 256}


def test_box_labels_only_pixels_above_the_row_noise_floor_inside_the_box():
    palette = load_palette("community")
    db = np.full((256, 256), -90.0, np.float32)
    row_2k = 255 - round(2000 * 512 / 22050)
    db[row_2k, 40:200] = -30.0  # a tone covering most of the tile: its row's floor comes from uncovered frames
    boxes = [Box(40 * 256 / 22050, 200 * 256 / 22050, 1900, 2100, "insect")]
    class_map = boxes_to_class_map(db, _tile_meta(), boxes, palette, threshold_db=6)
    assert set(np.unique(class_map)) == {0, 2}
    assert np.array_equal(np.argwhere(class_map == 2)[:, 0], np.full(160, row_2k))
    assert (class_map == 2).sum() == 160


def test_smaller_box_wins_where_boxes_overlap():
    palette = load_palette("community")
    db = np.full((256, 256), -90.0, np.float32)
    db[150:200, 50:150] = -20.0
    sec = 256 / 22050
    big = Box(0, 255 * sec, 0, 11000, "human")
    small = Box(80 * sec, 100 * sec, 0, 11000, "bird")
    class_map = boxes_to_class_map(db, _tile_meta(), [small, big], palette)
    assert (class_map[150:200, 80:101] == 1).all()
    assert (class_map[150:200, 50:80] == 3).all() and (class_map[150:200, 101:150] == 3).all()
