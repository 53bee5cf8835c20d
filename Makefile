# The two commands a newcomer needs: `make run` and `make test`. Both set everything up first
# (Debian packages, .venv, Python packages) and are quick when nothing changed.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?= --simulate

PO     := $(wildcard locale/*/LC_MESSAGES/kiosk.po)
# stamp: the .mo files beside each .po are current
MO     := $(VENV)/.translations
# stamp: the independent ESC/POS encoder (npm, pinned by its lock file) the printer simulator is tested against
JSDIR  := $(VENV)/js
JS     := $(JSDIR)/.installed
JSPKG  := tests/devices/escpos_js/package.json tests/devices/escpos_js/package-lock.json
# stamp: real photographs of barcodes for the decoder tests and bench (tests/data/photos/README.md)
PHOTOS := $(VENV)/photos/.installed

.PHONY: setup run test bench clean

setup: $(STAMP) $(MO) $(JS) $(PHOTOS)

$(MO): $(PO) $(STAMP)
	PY=$(PY) bash scripts/compile-translations.sh
	touch $(MO)

$(STAMP): pyproject.toml scripts/setup-debian.sh
	bash scripts/setup-debian.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[server,dev]'
	touch $(STAMP)

# node and npm come from Debian (scripts/setup-debian.sh); `npm ci` installs exactly the lock file's versions
$(JS): $(JSPKG) $(STAMP)
	mkdir -p $(JSDIR)
	cp $(JSPKG) $(JSDIR)/
	cd $(JSDIR) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $(JS)

$(PHOTOS): scripts/photo-corpus.sh $(STAMP)
	bash scripts/photo-corpus.sh $(VENV)/photos
	touch $(PHOTOS)

run: setup
	bash scripts/with-display.sh $(PY) main.py $(ARGS)

test: setup
	$(VENV)/bin/lint-imports
	bash scripts/with-display.sh $(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
