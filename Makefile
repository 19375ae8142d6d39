# Two commands on a fresh machine (see README):
#   make report  install everything into .venv, then run every study on the built-in data (out/report/index.html)
#   make test    install everything into .venv, then run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out

# laplace-torch and the two curvature libraries under it declare torchvision, which they never import: --no-deps keeps
# it (and the CUDA torch PyPI pairs it with) out; their real dependencies are the [laplace] extra.
LAPLACE_TORCH := laplace-torch backpack-for-pytorch curvlinops-for-pytorch

.PHONY: install report test test-slow bench lint clean

install: $(STAMP)

# torch first, pinned: its local CPU wheel; an unpinned torch would pull a CUDA build of several GB.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt torch
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,laplace]'
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt $(LAPLACE_TORCH)
	touch $(STAMP)

# --force: the report is this command's own output, so running it again replaces it
report: $(STAMP)
	$(BIN)/bayesreg report --out $(OUT)/report --force

test: $(STAMP)
	$(BIN)/python -m pytest

# exit status 5 is pytest's "no tests collected": no slow checks exist yet, which is not a failure
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow; rc=$$?; if [ $$rc -eq 5 ]; then echo "no slow tests yet"; else exit $$rc; fi

# bayesreg against NumPyro NUTS and scikit-learn on the same machine, in one run (about 5 minutes)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[bench]'
	$(BIN)/python benchmarks/run.py --out $(OUT)/bench.json

lint: $(STAMP)
	$(BIN)/ruff check bayesreg analyses tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
