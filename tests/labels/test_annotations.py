import numpy as np
import pytest

from util.errors import UserError
from util.labels.annotations import (
    Box,
    boxes_to_class_map,
    group_boxes,
    parse_label_list,
    read_audacity_labels,
    read_label_map,
    read_raven_table,
    recording_key,
    resolve_labels,
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


def _raven_rows(*labels: str) -> str:
    return RAVEN_HEADER + "".join(f"{i}\tSpectrogram 1\t1\t0\t1\t100\t200\t{label}\n"
                                  for i, label in enumerate(labels, start=1))


def test_unknown_labels_are_all_listed_in_one_line_with_the_flag_that_fixes_them(tmp_path):
    path = tmp_path / "table.txt"
    path.write_text(_raven_rows("noise", "Eurasian Jay", "unknown", "Noise", "Great Tit"))
    with pytest.raises(UserError) as caught:
        group_boxes([(str(path), read_raven_table(str(path)))], load_palette("species"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: labels not in the species palette: Great Tit, noise, unknown "
                              "(skip them with --ignore_labels 'Great Tit,noise,unknown' or map them to palette "
                              "names with --label_map FILE; palette names: Jungle Nightjar, Eurasian Jay,")


def test_unknown_labels_of_several_tables_are_reported_together(tmp_path):
    tables = []
    for name, labels in (("a.txt", ("noise",)), ("b.txt", ("bird",)), ("c.txt", ("other", "noise"))):
        (tmp_path / name).write_text(_raven_rows(*labels))
        tables.append((str(tmp_path / name), read_raven_table(str(tmp_path / name))))
    with pytest.raises(UserError, match=r"a.txt and 1 other table\(s\): labels not in the community palette: "
                                        r"noise, other \(skip them with --ignore_labels noise,other "):
        group_boxes(tables, load_palette("community"))


def test_ignored_labels_are_dropped_and_their_recording_stays_annotated(tmp_path):
    path = tmp_path / "rec.txt"
    path.write_text(_raven_rows("NOISE", "", "bird", "Unknown "))
    palette = load_palette("community")
    kept, unknown = resolve_labels(read_raven_table(str(path)), palette, parse_label_list("noise, unknown"))
    assert [b.label for b in kept] == ["bird"] and unknown == [""]
    with pytest.raises(UserError, match=r'palette: "" \(skip them with --ignore_labels \'""\''):
        group_boxes([(str(path), read_raven_table(str(path)))], palette, parse_label_list("noise,unknown"))
    only_noise = tmp_path / "quiet.txt"
    only_noise.write_text(_raven_rows("noise"))
    assert group_boxes([(str(only_noise), read_raven_table(str(only_noise)))], palette,
                       parse_label_list("noise")) == {"quiet": []}


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


def test_windows_table_in_cp1252_reads_with_its_accents_and_is_left_unchanged(tmp_path):
    path = tmp_path / "forest.Table.1.selections.txt"
    raw = ("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tSpecies\tNotes\r\n"
           "1\tSpectrogram 1\t1\t0.5\t1.0\t1000\t4000\tPic épeiche\tGrüner Laubsänger im Hintergrund\r\n"
           "2\tSpectrogram 1\t1\t2.0\t2.5\t0\t8000\tnoise\tWind, Straße\r\n").encode("cp1252")
    path.write_bytes(raw)
    assert [b.label for b in read_raven_table(str(path))] == ["Pic épeiche", "noise"]
    assert read_raven_table(str(path), label_column="Notes")[0].label == "Grüner Laubsänger im Hintergrund"
    assert path.read_bytes() == raw
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + raw.decode("cp1252").encode("utf-8"))
    assert read_raven_table(str(bom))[0].label == "Pic épeiche"


def test_begin_path_names_the_recording_when_begin_file_is_absent(tmp_path):
    path = tmp_path / "whole_survey.txt"
    path.write_text("Selection\tBegin Path\tFile Offset (s)\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\t"
                    "High Freq (Hz)\tSpecies\n"
                    "1\tD:\\survey\\SITE_02_0600.wav\t12.5\t3612.5\t3613.0\t1000\t2000\tbird\n"
                    "2\t/data/survey/SITE_03_0600.flac\t\t4.0\t4.5\t1000\t2000\tinsect\n")
    first, second = read_raven_table(str(path))
    assert (first.recording, first.begin_s, first.end_s) == ("SITE_02_0600", 12.5, 13.0)
    assert (second.recording, second.begin_s) == ("SITE_03_0600", 4.0)
    grouped = group_boxes([(str(path), [first, second])], load_palette("community"))
    assert sorted(grouped) == ["SITE_02_0600", "SITE_03_0600", "whole_survey"]


def test_label_map_in_csv_or_json_renames_aliases_to_palette_names(tmp_path):
    palette = load_palette("species")
    csv_map = tmp_path / "aliases.csv"
    csv_map.write_bytes("label;name\nLECU;Lesser Cuckoo\nCoucou épervier;Cuculus poliocephalus\nwind;\n"
                        .encode("cp1252"))
    json_map = tmp_path / "aliases.json"
    json_map.write_text('{"LECU": "lesser cuckoo", "coucou epervier": "Lesser Cuckoo", "Wind": ""}')
    boxes = [Box(0, 1, 100, 200, label) for label in ("lecu", "Coucou Épervier", "wind", "Eurasian Jay", "hum")]
    for path in (csv_map, json_map):
        label_map = read_label_map(str(path), palette)
        kept, unknown = resolve_labels(boxes, palette, label_map=label_map)
        assert [b.label for b in kept] == ["Lesser Cuckoo", "Lesser Cuckoo", "Eurasian Jay"] and unknown == ["hum"]


def test_label_map_naming_no_palette_class_is_refused_with_its_line(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("LECU,Lesser Cuckoo\nGRWO,Green Woodpecker\n")
    with pytest.raises(UserError, match=r"map.csv: line 2: 'Green Woodpecker' is not in the 'species' palette"):
        read_label_map(str(path), load_palette("species"))
    twice = tmp_path / "twice.csv"
    twice.write_text("jay,Eurasian Jay\nJay,Lesser Cuckoo\n")
    with pytest.raises(UserError, match=r"twice.csv: line 2: 'Jay' is mapped twice"):
        read_label_map(str(twice), load_palette("species"))


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
