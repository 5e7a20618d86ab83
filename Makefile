# Two commands do all the set-up:
#   make demo   the whole pipeline on a small synthetic set (creates .venv if missing)
#   make test   the test suite (creates .venv if missing)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-requirements

# The demo's embedded default: a small synthetic set, fixed seed.
DEMO_SEED    ?= 0
DEMO_N_TRAIN ?= 40
DEMO_N_TEST  ?= 10
DEMO_CLIP    := syn00001
DEMO_WAV     := input_wav/test/$(DEMO_CLIP)

.PHONY: demo test venv

venv: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q tests

demo: $(STAMP)
	$(PY) job00_synth_data.py --out . --n_train $(DEMO_N_TRAIN) --n_test $(DEMO_N_TEST) --seed $(DEMO_SEED)
	$(PY) job01_wav_to_spec.py --input $(DEMO_WAV) --output out_img/demo/spec --pattern mixture.wav
	$(PY) job02_merge_img.py --spec out_img/demo/spec --raven $(DEMO_WAV)/mixture.selections.txt \
		--output out_img/demo/pairs --label_output out_img/demo/labels
	$(PY) job05_specific_spec.py --spec out_img/demo/spec --label out_img/demo/labels \
		--output out_img/demo/isolated --audio
	$(PY) job05_specific_spec.py --spec input_img/test_community_samples --label input_img/test_community_samples \
		--palette community --output out_img/demo/isolated_community --audio
	@echo "demo: synthetic pairs in input_img/, their audio in input_wav/, job01/02/05 outputs in out_img/demo/"
