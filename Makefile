# The two commands README.md gives a new user: `make demo` and `make test`.
# Each installs what it needs first (a venv in .venv, the package, the data).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export VIDREC_OFFLINE ?= 0

.PHONY: install data demo test bench clean

$(BIN)/vidrec: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(BIN)/vidrec

data: install
	$(BIN)/vidrec data fetch all

demo: install
	$(BIN)/vidrec run recordings/sheet_still.mp4 --plugin multidigit --out out/demo/sheet_still.mp4 --jsonl out/demo/sheet_still.jsonl
	@echo "annotated video: out/demo/sheet_still.mp4   per-frame results: out/demo/sheet_still.jsonl"

test: install data
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) out
