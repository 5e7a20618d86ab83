import json

import numpy as np
import pytest

from util.errors import UserError
from util.labels.palette import load_palette, slugify


def test_species_palette_holds_the_eight_species_and_community_the_three():
    species = load_palette("species")
    assert len(species) == 8
    assert species.classes[4].display_name == "Lesser Cuckoo (Cuculus poliocephalus)"
    assert load_palette("community").names == ["bird", "insect", "human"]


def test_encode_then_decode_gives_the_class_map_back():
    palette = load_palette("species")
    class_map = np.random.default_rng(0).integers(0, 9, size=(16, 32)).astype(np.uint8)
    assert np.array_equal(palette.decode(palette.encode(class_map)), class_map)


def test_slightly_off_colours_decode_to_the_nearest_class():
    palette = load_palette("community")
    rgb = palette.encode(np.array([[0, 1, 2, 3]], np.uint8)).astype(int)
    rgb += np.array([[[10, 5, 3], [-12, 8, 0], [6, -20, 9], [4, 4, -15]]])
    assert palette.decode(np.clip(rgb, 0, 255).astype(np.uint8)).tolist() == [[0, 1, 2, 3]]


def test_off_palette_colour_is_refused_with_file_colour_and_position():
    palette = load_palette("species")
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[2, 3] = (128, 128, 128)
    with pytest.raises(UserError, match=r"lbl.png: colour \(128, 128, 128\) at row 2, column 3"):
        palette.decode(rgb, "lbl.png")


def test_names_scientific_names_and_slugs_find_the_same_class():
    palette = load_palette("species")
    k = palette.index("Alström's Warbler")
    assert k == 7
    assert palette.index("Phylloscopus soror") == k == palette.index("alstroms-warbler")
    assert palette.index("Common Blackbird") == 0
    assert slugify("Brownish-flanked Bush Warbler") == "brownish-flanked-bush-warbler"


def test_every_species_maps_to_bird_in_the_community_palette():
    table = load_palette("species").community_palette_map(load_palette("community"))
    assert table.tolist() == [0] + [1] * 8


def test_user_palette_file_is_checked(tmp_path):
    good = tmp_path / "mine.json"
    good.write_text(json.dumps([{"name": "frog", "scientific_name": "Anura", "rgb": [0, 200, 0]}]))
    assert load_palette(str(good)).names == ["frog"]
    close = tmp_path / "close.json"
    close.write_text(json.dumps([{"name": "a", "rgb": [200, 0, 0]}, {"name": "b", "rgb": [210, 10, 0]}]))
    with pytest.raises(UserError, match="close.json: two colours"):
        load_palette(str(close))
    with pytest.raises(UserError, match="nope.json: no such palette"):
        load_palette(str(tmp_path / "nope.json"))


def test_confident_rule_reads_greys_and_blends_as_background_and_exact_colours_as_their_class():
    nearest, confident = load_palette("species"), load_palette("species", "confident")
    orange, white = nearest.colors[nearest.index("Alström's Warbler")], nearest.colors[-1]
    grey = np.full((1, 1, 3), 128, np.uint8)
    blend = ((nearest.colors[1].astype(int) + nearest.colors[2]) // 2).astype(np.uint8)[None, None]
    assert nearest.classify(grey)[0, 0] == nearest.index("Alström's Warbler")   # why the rule exists
    assert confident.classify(grey)[0, 0] == 0
    assert confident.classify(blend)[0, 0] == 0
    near_orange = np.clip(orange.astype(int) + [-20, 15, 10], 0, 255).astype(np.uint8)[None, None]
    assert confident.classify(near_orange)[0, 0] == nearest.index("Alström's Warbler")
    assert confident.classify(white[None, None])[0, 0] == len(nearest)


def test_decision_radii_are_half_the_distance_to_the_nearest_other_colour():
    radii = load_palette("community").decision_radii
    assert np.allclose(radii, 127.5)           # black, red, green, blue: every pair at least 255 apart
    with pytest.raises(UserError, match="decode_rule"):
        load_palette("community", "vote")
