# One set of commands for people, hooks and CI.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
JOB    ?= jobs/sample.toml

.PHONY: install system-deps run up test check lint bench clean

install: $(VENV)/.installed system-deps

# One resolver pass for everything (aiobotocore and moto pin botocore differently).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Debian packages: poppler-utils (pdftoppm, for pdf2image; pdftotext for tests); Tesseract's
# English, Chinese and orientation data (the embedded "auto" engine reads Latin pages with
# it); libGL and GLib for the OpenCV build rapid-layout installs (the layout regions).
SYSTEM_PKGS := poppler-utils tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-osd \
	libgl1 libglib2.0-0
system-deps:
	@dpkg -s $(SYSTEM_PKGS) >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends \
		$(SYSTEM_PKGS); }

run: install
	$(BIN)/ocrpipe run $(JOB)

# Every tier (unit, integration, e2e), real engines included: what CI runs.
# the job API on http://127.0.0.1:8700 and 2 workers (README, "Jobs on demand")
up: install
	$(BIN)/ocrpipe up $(UP_ARGS)

test: install
	$(BIN)/pytest -q

# The fast part (no real OCR engine, no CLI subprocess): under a minute on 2 cores.
check: install
	$(BIN)/pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check pipeline tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# BENCH_ARGS=--quick for the small scale (200 / 2,000 / 200-page PDF; soak: 50 + 50
# clients for 15 s instead of 200 + 200 for 60 s). Then the `ocrpipe bench` sweep
# against the fake with a 150 calls/s quota (table, CSV, JSON, PNG in bench-results/).
bench: install
	$(BIN)/python -m benchmarks.rasterizers
	$(BIN)/python -m benchmarks.throughput $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.service_soak $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.fleet $(BENCH_ARGS)  # PostgreSQL on 127.0.0.1 ($$OCRPIPE_BENCH_PG)
	$(BIN)/ocrpipe bench fake --fake-quota 150 --concurrency 4,32 --qps 10,20,50,100,200,400 \
		--seconds 3 --out bench-results

clean:
	rm -rf out .ocrpipe .pytest_cache .mypy_cache .ruff_cache
