"""The palette helper: names in, a palette JSON out whose colours are far apart and far from black."""

import json

import numpy as np
import pytest

from util.errors import UserError
from util.labels.annotations import Box, resolve_labels
from util.labels.make_palette import MIN_GAP, farthest_colours, main, max_classes, palette_entries
from util.labels.palette import load_palette


def smallest_gap(palette) -> float:
    """Smallest RGB distance between two colours of a palette, black (background) included."""
    colors = palette.colors.astype(float)
    distance = np.linalg.norm(colors[:, None] - colors[None], axis=2)
    return distance[np.triu_indices(len(colors), 1)].min()


def test_made_palette_loads_with_its_names_and_colours_at_least_180_apart(tmp_path):
    out = tmp_path / "woodland.json"
    names = ["Pic épeiche", "Grüner Laubsänger", "Great Tit", "Blue Tit", "Wren", "Robin", "Chaffinch", "Jay"]
    assert main(["--names", ",".join(names), "--out", str(out)]) == 0
    palette = load_palette(str(out))
    assert palette.name == "woodland" and palette.names == names
    assert smallest_gap(palette) > 180
    assert palette.index("pic epeiche") == 1 and palette.index("GRUNER LAUBSANGER") == 2
    assert json.loads(out.read_text(encoding="utf-8"))[0] == {"name": "Pic épeiche", "scientific_name": "",
                                                                "rgb": [255, 255, 255]}


def test_the_largest_palette_it_makes_still_decodes_unambiguously(tmp_path):
    assert max_classes() == 36
    names_file = tmp_path / "species.txt"
    names_file.write_text("# my site\nSpecies 00\tGenus species0\n"
                          + "".join(f"Species {i:02d}\n" for i in range(1, 36)), encoding="utf-8")
    assert main(["--names_file", str(names_file), "--out", str(tmp_path / "big.json")]) == 0
    palette = load_palette(str(tmp_path / "big.json"))
    assert len(palette) == 36 and palette.classes[0].scientific_name == "Genus species0"
    assert smallest_gap(palette) > MIN_GAP == 80
    with pytest.raises(UserError, match="37 names, but at most 36 colours stay more than 80 apart"):
        palette_entries([f"Species {i}" for i in range(37)])


def test_colour_choice_is_repeatable_and_each_gap_no_larger_than_the_one_before():
    colours, gaps = farthest_colours(12)
    assert np.array_equal(colours, farthest_colours(12)[0])
    assert np.all(np.diff(gaps) <= 0) and gaps[0] == pytest.approx(255 * 3 ** 0.5)


def test_duplicate_names_are_refused_and_an_existing_palette_is_kept(tmp_path):
    with pytest.raises(UserError, match="'Great Tit' and 'great  tit' are the same name"):
        palette_entries(["Great Tit", "Robin", "great  tit"])
    out = tmp_path / "mine.json"
    out.write_text("[]")
    with pytest.raises(UserError, match="mine.json: exists; pass --overwrite"):
        main(["--names", "A,B", "--out", str(out)])
    assert out.read_text() == "[]"


def test_an_empty_table_label_names_no_class_of_a_made_palette(tmp_path):
    """Made palettes have empty scientific names; an empty label must not match them."""
    main(["--names", "Robin,Wren", "--out", str(tmp_path / "p.json")])
    kept, unknown = resolve_labels([Box(0, 1, 0, 1, ""), Box(0, 1, 0, 1, "wren")], load_palette(str(tmp_path / "p.json")))
    assert [b.label for b in kept] == ["Wren"] and unknown == [""]
