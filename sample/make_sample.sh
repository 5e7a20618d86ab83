#!/usr/bin/env bash
# Remakes every file of sample/ with the project's own scripts. Run from the repository root:
#   bash sample/make_sample.sh
set -euo pipefail
PY=${PY:-.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# wav01.wav: a synthetic soundscape (Eurasian Jay, Alström's Warbler, a voice) and its Raven table
"$PY" job00_synth_data.py --out "$work" --n_train 0 --n_val 0 --n_test 1 --seed 6
cp "$work/input_wav/test/syn00001/mixture.wav" sample/wav01.wav
sed 's/mixture\.wav/wav01.wav/' "$work/input_wav/test/syn00001/mixture.community.selections.txt" > sample/wav01.selections.txt

# spec01.png: the calibrated spectrogram tile of wav01.wav
"$PY" job01_wav_to_spec.py --input sample/wav01.wav --output "$work/spec"
cp "$work/spec/wav01_0000.png" sample/spec01.png

# label01.png and merge01.png: community labels from the Raven table, and the A|B pair
"$PY" job02_merge_img.py --spec sample/spec01.png --raven sample/wav01.selections.txt --palette community \
    --output "$work/pairs" --label_output "$work/labels"
cp "$work/labels/spec01.png" sample/label01.png
cp "$work/pairs/spec01.png" sample/merge01.png

# bird-only-spec01.png / .wav (and human-only-...): each community on its own, image and audio
"$PY" job05_specific_spec.py --spec sample/spec01.png --label sample/label01.png --palette community \
    --output sample --audio --overwrite
