# Two commands set everything up on a fresh Debian machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip -q --disable-pip-version-check
# pip's output goes to a log that is shown only when it fails: a second `make install` is quiet.
QUIET = > $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
HOST ?= 127.0.0.1
PORT ?= 8000
# The live node's signalling port (loopback: the web side forwards to it) and its sessions.
LIVE_PORT ?= 8765
LIVE_CAPACITY ?= 1

# Debian packages: espeak-ng speaks the demo sample and the viseme training corpus; the tests also
# need real Redis, PostgreSQL and Chromium.
DEBIAN_RUNTIME := espeak-ng libespeak-ng1
# alsa-utils ships recordings of a human voice (/usr/share/sounds/alsa) that the generator's
# quality benchmark and tests speak with, beside espeak-ng's synthetic voices. opencv-doc ships
# photos of four more real people (its tutorials' samples) for that benchmark's portrait set.
DEBIAN_TEST := $(DEBIAN_RUNTIME) redis-server postgresql chromium fonts-dejavu-core alsa-utils opencv-doc

.PHONY: install install-test run test lint format clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(MAKE) --no-print-directory debian PACKAGES="$(DEBIAN_RUNTIME)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# torch first, pinned: on these machines 2.13.0 is the CPU build on local disk; any other
	@# spec would download gigabytes of CUDA libraries. GPU hosts install a CUDA build beforehand.
	@echo "installing Python packages into $(VENV) (first run only)"
	@$(PY) -c "import torch" 2>/dev/null || { $(PIP) install torch==2.13.0 $(QUIET); }
	@$(PIP) install -e . $(QUIET)
	@# --no-deps: its opencv-python requirement would add a second OpenCV needing libgl1; we use
	@# only its bundled RivaGAN model files, run in torch (onnxruntime is a test extra).
	@$(PIP) install --no-deps "invisible-watermark==0.2.0" $(QUIET)
	@# --no-deps: mediapipe 0.10.14 is the last line that bundles the face-landmark model with
	@# attention (face_landmark_with_attention.tflite, Apache-2.0) the generator's face mesh runs;
	@# its declared opencv-contrib-python would be a second OpenCV beside the headless one, and
	@# jax/sounddevice are for parts we do not use. What it does import (absl-py, attrs,
	@# flatbuffers, protobuf<5, matplotlib) is pinned in pyproject.toml.
	@$(PIP) install --no-deps "mediapipe==0.10.14" $(QUIET)
	@touch $@

install-test: $(VENV)/.installed-test

$(VENV)/.installed-test: $(VENV)/.installed
	@$(MAKE) --no-print-directory debian PACKAGES="$(DEBIAN_TEST)"
	@$(PIP) install -e ".[test]" $(QUIET)
	@touch $@

# apt-get only for what is missing, so a second run is quiet and needs no network.
debian:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

var-dirs:
	@mkdir -p var/celery/queue var/celery/processed var/celery/control var/media var/keys

prepare: install var-dirs
	@$(PY) manage.py migrate --noinput -v0
	@$(PY) manage.py createcachetable
	@$(PY) manage.py collectstatic --noinput -v0
	@$(PY) manage.py show_config
	@$(PY) manage.py seed_demo
	@$(PY) manage.py make_demo_sample >/dev/null
	@echo "Running the demo once (portrait + speech -> watermarked, signed MP4)..."
	@$(PY) manage.py demo --portrait var/sample/portrait.png --audio var/sample/speech.wav \
	  --out var/sample/first-run.mp4 --json | tail -n 1 \
	  || echo "demo failed (see above); the portal still starts"

# The product on its embedded defaults: SQLite + Celery's filesystem broker, web + two workers:
# generation (default queue) and detection (its own queue, so only it holds the registry).
# The worker embeds beat (-B): the job reaper and the audit checkpoint run on its schedule.
run: prepare
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C stops the web server, the workers and the live node)"
	@trap 'kill $$(jobs -p) 2>/dev/null; wait; exit 0' INT TERM; \
	$(VENV)/bin/celery --workdir platform -A config worker -B --loglevel INFO --concurrency 1 -Q celery -n generation@%h & \
	$(VENV)/bin/celery --workdir platform -A config worker --loglevel INFO --concurrency 1 -Q detection -n detection@%h & \
	$(PY) manage.py live_node --host 127.0.0.1 --port $(LIVE_PORT) --capacity $(LIVE_CAPACITY) & \
	HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/gunicorn -c platform/config/gunicorn_conf.py --access-logfile - & \
	wait

test: install-test
	@$(VENV)/bin/ruff format --check --quiet .
	@$(VENV)/bin/ruff check --quiet .
	@$(PY) -m pytest -q

lint:
	@$(VENV)/bin/ruff format --check . && $(VENV)/bin/ruff check .

format:
	@$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

clean:
	rm -rf var/celery var/static
