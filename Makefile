# copium's developer and CI entry points. See README.md and CONTRIBUTING.md.
#
#   make bench            build for CPython 3.11 (BENCH_PYTHON=3.X) and run benchmarks/quick.py
#   make test             build and test on every supported CPython found (PYTHONS="3.11 3.12")
#   make test-3.12        the same for one interpreter
#   make build            build and install copium into .venv-3.X for each of PYTHONS
#   make test-sanitize    pytest and the cmocka tests under ASan+UBSan (SANITIZE_PYTHON=3.11)
#   make test-valgrind    the cmocka tests under valgrind memcheck (SANITIZE_PYTHON)
#   make test-pydantic    pydantic's own test suite with copy patched by copium (PYDANTIC_VERSION)
#   make fuzz-long        the hostile-input fuzzer under ASan+UBSan, long (FUZZ_EXAMPLES=50000)
#   make format           clang-format -i on the C sources
#   make format-check     fail if a C source is not clang-formatted
#   make clean            remove build products; `make distclean` also removes the venvs
#
# Each interpreter gets a virtual environment .venv-3.X with the build and test tools from PyPI
# (installed only when missing), copium is built into it with `pip install .` (warnings are
# errors, meson build directory build/py-3.X so rebuilds are incremental), then pytest runs
# tests/py and meson builds and runs the cmocka tests (tests/c) in build/cmocka-3.X.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.SUFFIXES:
MAKEFLAGS += --no-print-directory

ROOT := $(CURDIR)
SUPPORTED_PYTHONS := 3.10 3.11 3.12 3.13 3.14 3.15
# Versions the host may lack: they run inside a Debian sid chroot (.ci/sid-chroot), made on
# first use outside the repository and reused after. NO_CHROOT=1 leaves them out; inside the
# chroot IN_CHROOT=1 is set, and the chroot's own python3.X are found on PATH.
CHROOT_PYTHONS := 3.14 3.15 3.14d
# Debug builds of CPython (Debian's python3.X-dbg: "3.11d" on the host from apt, "3.14d" in the
# chroot), where sys.gettotalrefcount() exists: the suite runs there too, with the reference
# leak checks of tests/py/test_refleaks.py, which skip on release builds. Their copium is built
# with the test-only fault injection (-Dfault_injection=true, for tests/py/test_faults.py). No
# numpy plugin there (numpy has no wheels for debug ABIs).
DEBUG_PYTHONS := 3.11d 3.14d
NO_CHROOT ?=
IN_CHROOT ?=
BENCH_PYTHON ?= 3.11
# pydantic, from PyPI wheels, in every test venv where pydantic-core has a wheel (the tests of
# copium's pydantic handler, tests/py/test_pydantic.py, skip elsewhere), and for make
# test-pydantic; one of the versions protocol/pydantic.c knows.
PYDANTIC_VERSION ?= 2.14.4
WERROR ?= true
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo "$${HOME:-/root}/.pyenv")

# Debian packages: what building needs, what the C tests add, and what `make format` needs.
APT_BUILD_PACKAGES ?= build-essential pkg-config uthash-dev
APT_PACKAGES ?= $(APT_BUILD_PACKAGES) libcmocka-dev python3.11-dbg python3.11-dev python3.11-venv libpython3.11-testsuite valgrind
APT_FORMAT_PACKAGES ?= clang-format

# PyPI packages of every venv: the build backend (used without build isolation, so that
# meson and ninja also drive the cmocka build), and the test tools (mypy: stubtest and the
# typing tests, tests/py/test_typing.py).
VENV_PACKAGES := meson-python>=0.15 meson>=1.1.0 ninja pytest hypothesis mypy
VENV_IMPORT_CHECK := import mesonpy, mesonbuild, ninja, pytest, hypothesis, mypy

# The interpreter for a version "3.X": the newest $(PYENV_ROOT)/versions/3.X.N (plain releases
# only, no 3.X.Nt builds), else python3.X on PATH; empty when there is none.
find_python = $(shell d=$$(ls -d "$(PYENV_ROOT)/versions/$(1)."* 2>/dev/null \
	| grep -E '/$(subst .,\.,$(1))\.[0-9]+$$' | sort -V | tail -n 1 || true); \
	if [ -n "$$d" ] && [ -x "$$d/bin/python$(1)" ]; then echo "$$d/bin/python$(1)"; \
	else command -v python$(1) 2>/dev/null || true; fi)

FOUND_PYTHONS := $(foreach v,$(SUPPORTED_PYTHONS) $(DEBUG_PYTHONS),$(if $(call find_python,$(v)),$(v)))
# Installed by `make deps` when missing, so wanted even before it is found.
HOST_DEBUG_PYTHONS := $(if $(IN_CHROOT)$(NO_DEBUG),,3.11d)
# Chroot versions: the ones the host itself does not have.
VIA_CHROOT := $(if $(IN_CHROOT)$(NO_CHROOT),,$(filter-out $(FOUND_PYTHONS),$(CHROOT_PYTHONS)))
PYTHONS ?= $(filter-out $(DEBUG_PYTHONS),$(FOUND_PYTHONS) $(VIA_CHROOT)) \
	$(sort $(HOST_DEBUG_PYTHONS) $(filter $(DEBUG_PYTHONS),$(FOUND_PYTHONS) $(VIA_CHROOT)))

C_SOURCE_DIRS := batch core handlers protocol python include plugins tests/c examples
C_SOURCES = $(shell find $(C_SOURCE_DIRS) -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)

REPORTS := build/reports
# A hung test must not eat CI's time: pytest is stopped after this many seconds per interpreter.
# A debug build's suite takes about 6 minutes on a quiet 2-core machine and over 15 under load.
PYTEST_TIMEOUT ?= 1800

.PHONY: help test build bench deps deps-build deps-format format format-check clean distclean
.PHONY: test-sanitize test-valgrind fuzz fuzz-long

help:
	@sed -n '2,14s/^# \{0,1\}//p' Makefile
	@echo "Interpreters found: $(or $(FOUND_PYTHONS),none) (under $(PYENV_ROOT)/versions or on PATH)"
	@echo "From the Debian sid chroot (.ci/sid-chroot): $(or $(VIA_CHROOT),none)"

# ---------------------------------------------------------------------------------------------
# System packages. apt-get update runs only when something is missing.

define apt_ensure
missing=""; \
if ! command -v dpkg-query >/dev/null 2>&1; then \
	echo "note: not a Debian system; make sure these are installed: $(1)"; exit 0; \
fi; \
for p in $(1); do \
	dpkg-query -W -f='$${db:Status-Status}' "$$p" 2>/dev/null | grep -qx installed || missing="$$missing $$p"; \
done; \
[ -z "$$missing" ] && exit 0; \
if [ "$$(id -u)" = 0 ]; then sudo=""; \
elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
else echo "error: missing Debian packages:$$missing"; \
	echo "       run as root: apt-get update && apt-get install -y$$missing"; exit 1; fi; \
echo "==> installing Debian packages:$$missing$${sudo:+ (through sudo)}"; \
if ! { $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q \
	&& $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; }; then \
	echo "error: could not install the Debian packages:$$missing"; \
	echo "       install them by hand: apt-get update && apt-get install -y$$missing"; exit 1; \
fi
endef

deps:
	@$(if $(IN_CHROOT),true,$(call apt_ensure,$(APT_PACKAGES)))

deps-build:
	@$(if $(IN_CHROOT),true,$(call apt_ensure,$(APT_BUILD_PACKAGES)))

deps-format:
	@$(call apt_ensure,$(APT_FORMAT_PACKAGES))

# ---------------------------------------------------------------------------------------------
# Per interpreter: venv-3.X, build-3.X, plugins-3.X, pytest-3.X, ctest-3.X, test-3.X.
# (Pattern rules, so these names are not .PHONY; they never create files of their own name.)
#
# These steps are the only implementation of each: .ci/sanitize runs the very same targets for
# its sanitized builds, setting the variables below (unset, each takes the default shown, for
# the interpreter "3.X" of the target's name). Variables ending in _ENV are environment
# assignments in shell syntax (`A=1 B='x y'`), set for that one step's command.
#   VENV            the virtual environment                          .venv-3.X
#   BUILD_DIR       meson's build directory of copium                build/py-3.X
#   PAIR_BUILD_DIR  meson's build directory of the example plugin    build/pair-3.X
#   MESON_ARGS      more meson options for copium and the example plugin
#   FAULTS          non-empty: copium with copium._faults            (on for 3.Xd)
#   BUILD_ENV       for the build of copium                          (CFLAGS=...)
#   PLUGIN_ENV      for the plugin builds and the check after a build, which import copium
#   PYTEST_PATHS    what pytest runs                                 tests/py and the plugins'
#   PYTEST_OPTIONS  pytest options of the caller (before PYTEST_ARGS, the user's)
#   PYTEST_ENV      for pytest
#   JUNIT           pytest's JUnit report                            build/reports/pytest-3.X.xml
#   CMOCKA_DIR      the cmocka tests' build directory                build/cmocka-3.X
#   CMOCKA_ARGS     more meson options for the cmocka build          --buildtype=debugoptimized
#   CTEST_ENV       for meson test
#   MESON_TEST_ARGS more meson test options (the user's too)
# PYTEST_ARGS and MESON_TEST_ARGS are in shell syntax as well (PYTEST_ARGS='-k "a and b"').

venv_dir = $(or $(VENV),.venv-$(1))
build_dir = $(or $(BUILD_DIR),build/py-$(1))
pair_build_dir = $(or $(PAIR_BUILD_DIR),build/pair-$(1))
cmocka_dir = $(or $(CMOCKA_DIR),build/cmocka-$(1))
junit_path = $(or $(JUNIT),$(REPORTS)/pytest-$(1).xml)
CMOCKA_ARGS ?= --buildtype=debugoptimized
# $(call shquote,TEXT): TEXT as one single-quoted shell word (to pass it on as one argument).
shquote = '$(subst ','\'',$(1))'
# What the user's arguments are exported as, so that .ci/sanitize and the steps it runs see
# them unchanged.
PYTEST_ARGS ?=
MESON_TEST_ARGS ?=
export PYTEST_ARGS MESON_TEST_ARGS

# $(call pip_build,BUILD_DIR,PROJECT_DIR,MORE): pip install of a meson-python project into the
# venv with the venv's build tools, meson's build directory BUILD_DIR, warnings as errors unless
# WERROR=false, and MESON_ARGS.
pip_build = PATH="$(ROOT)/$(call venv_dir,$*)/bin:$$PATH" NINJA="$(ROOT)/$(call venv_dir,$*)/bin/ninja" \
	"$(ROOT)/$(call venv_dir,$*)/bin/python" -m pip install --disable-pip-version-check --no-input \
	--no-build-isolation --no-deps --no-index --force-reinstall -q \
	--config-settings=build-dir="$(ROOT)/$(1)" --config-settings=setup-args=-Dwerror=$(WERROR) \
	$(foreach a,$(MESON_ARGS),--config-settings=setup-args=$(a)) $(3) $(2)

venv-%:
	@py="$(call find_python,$*)"; \
	if [ -z "$$py" ]; then \
		echo "error: no CPython $* found (looked in $(PYENV_ROOT)/versions/$*.* and for python$* on PATH)"; \
		exit 1; \
	fi; \
	venv="$(call venv_dir,$*)"; \
	home="$$(dirname "$$(readlink -f "$$py")")"; \
	if [ -e "$$venv" ] && ! { "$$venv/bin/python" -c 'pass' 2>/dev/null \
			&& grep -qxF "home = $$home" "$$venv/pyvenv.cfg" 2>/dev/null; }; then \
		echo "==> $$venv is stale or broken (interpreter now $$py): recreating it"; \
		rm -rf "$$venv"; \
	fi; \
	if [ ! -e "$$venv" ]; then \
		echo "==> creating $$venv with $$py"; \
		"$$py" -m venv "$$venv"; \
	fi; \
	if ! "$$venv/bin/python" -c '$(VENV_IMPORT_CHECK)' 2>/dev/null; then \
		echo "==> installing into $$venv: $(VENV_PACKAGES)"; \
		"$$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input \
			$(foreach p,$(VENV_PACKAGES),'$(p)'); \
	fi; \
	if ! "$$venv/bin/python" -c 'import pydantic' 2>/dev/null && [ ! -e "$$venv/.no-pydantic" ]; then \
		echo "==> installing pydantic==$(PYDANTIC_VERSION) (wheels only) into $$venv"; \
		"$$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input \
			--only-binary=:all: 'pydantic==$(PYDANTIC_VERSION)' \
		|| { touch "$$venv/.no-pydantic"; \
			echo "note: no pydantic wheels for CPython $*: tests/py/test_pydantic.py skips there"; }; \
	fi

build-%: venv-%
	@echo "==> building copium for CPython $* (pip install ., build dir $(call build_dir,$*), werror=$(WERROR))"
	@mkdir -p build
	@$(BUILD_ENV) $(call pip_build,$(call build_dir,$*),.,$(if $(or $(FAULTS),$(filter %d,$*)),--config-settings=setup-args=-Dfault_injection=true))
	@cd /tmp && $(PLUGIN_ENV) "$(ROOT)/$(call venv_dir,$*)/bin/python" -c \
		'import copium, sys; print("    copium %s from %s" % (copium.__version__, copium.__file__))'

# The example plugin (examples/pair) and the bundled plugins, built against the copium just
# installed (without build isolation: PyPI's "copium" is another project) into the same venv.
plugins-%: plugin-pair-%
	@case "$*" in *d) echo "==> no numpy plugin on a debug build (numpy has no wheels for it)";; \
		*) $(MAKE) plugin-numpy-$*;; esac

plugin-pair-%: venv-%
	@echo "==> building the example plugin (examples/pair) for CPython $*"
	@$(PLUGIN_ENV) $(call pip_build,$(call pair_build_dir,$*),./examples/pair)

plugin-numpy-%: venv-%
	@"$(ROOT)/$(call venv_dir,$*)/bin/python" -c 'import numpy' 2>/dev/null || { \
		echo "==> installing numpy (a wheel) into $(call venv_dir,$*)"; \
		"$(ROOT)/$(call venv_dir,$*)/bin/python" -m pip install -q --disable-pip-version-check --no-input \
			--only-binary=:all: numpy; }
	@echo "==> building the numpy plugin (plugins/numpy) for CPython $*"
	@$(PLUGIN_ENV) $(call pip_build,build/numpy-$*,./plugins/numpy)

# pytest on tests/py and the plugins' tests with the installed copium; the JUnit report feeds
# the summary.
PYTEST_PATHS = tests/py examples/pair/tests $(if $(filter %d,$*),,plugins/numpy/tests)

pytest-%: venv-%
	@mkdir -p $(REPORTS)
	@echo "==> pytest tests/py on CPython $*"
	@PATH="$(ROOT)/$(call venv_dir,$*)/bin:$$PATH" timeout -k 30 $(PYTEST_TIMEOUT) \
		env $(PYTEST_ENV) "$(ROOT)/$(call venv_dir,$*)/bin/python" -m pytest $(PYTEST_PATHS) \
		-p no:cacheprovider -q -ra --junitxml="$(call junit_path,$*)" $(PYTEST_OPTIONS) $(PYTEST_ARGS)

# The cmocka tests: meson itself, run from the venv so that find_installation() picks this
# interpreter, configures build/cmocka-3.X with -Dtests=enabled and meson test runs them.
ctest-%: venv-%
	@echo "==> cmocka tests (meson test) on CPython $* ($(call cmocka_dir,$*))"
	@bdir="$(call cmocka_dir,$*)"; export PATH="$(ROOT)/$(call venv_dir,$*)/bin:$$PATH"; \
	if [ -f "$$bdir/build.ninja" ]; then \
		meson setup --reconfigure "$$bdir" -Dtests=enabled -Dwerror=$(WERROR) $(CMOCKA_ARGS) >/dev/null \
		|| { rm -rf "$$bdir"; meson setup "$$bdir" -Dtests=enabled -Dwerror=$(WERROR) $(CMOCKA_ARGS); }; \
	else \
		rm -rf "$$bdir"; \
		meson setup "$$bdir" -Dtests=enabled -Dwerror=$(WERROR) $(CMOCKA_ARGS); \
	fi; \
	rm -f "$$bdir"/meson-logs/testlog*.json; \
	meson compile -C "$$bdir"; \
	env $(CTEST_ENV) meson test -C "$$bdir" --print-errorlogs $(MESON_TEST_ARGS)

# Everything for one interpreter; every step runs even when an earlier one failed (but for a
# failed build), and the counts land in build/reports/summary-3.X.json.
# A version the host lacks runs the same target inside the sid chroot, on the same tree
# (bind-mounted at /src), so its venv, build dirs and summary land here as for the others. When
# the chroot cannot be made (no Debian mirror), this fails loudly, and so does the summary.
ifneq ($(VIA_CHROOT),)
$(addprefix test-,$(VIA_CHROOT)): test-%:
	@echo "==> CPython $* is not on this host: running its tests in the Debian sid chroot"
	@.ci/sid-chroot run "$(ROOT)" -- make test-$* IN_CHROOT=1 \
		PYTEST_ARGS=$(call shquote,$(PYTEST_ARGS)) MESON_TEST_ARGS=$(call shquote,$(MESON_TEST_ARGS)) \
		WERROR=$(WERROR) \
	|| { rc=$$?; [ $$rc -ne 3 ] || echo "error: CPython $* could not be tested: the Debian sid chroot could not be made (see above)"; exit $$rc; }
endif

test-%: deps
	@mkdir -p $(REPORTS); rm -f $(REPORTS)/pytest-$*.xml $(REPORTS)/summary-$*.json; \
	start=$$SECONDS; build=ok; pytest=ok; ctest=ok; \
	$(MAKE) build-$* || build=FAILED; \
	[ $$build != ok ] || $(MAKE) plugins-$* || build=FAILED; \
	if [ $$build = ok ]; then \
		$(MAKE) pytest-$* || pytest=FAILED; \
	else pytest=skipped; fi; \
	$(MAKE) ctest-$* || ctest=FAILED; \
	py="$(call find_python,$*)"; \
	if [ -n "$$py" ]; then ver=$$("$$py" -c 'import platform; print(platform.python_version())'); \
		case "$*" in *d) ver="$$ver-dbg";; esac; \
	else ver=""; build=missing; pytest=skipped; fi; \
	"$${py:-python3}" .ci/report.py --python "$*" --version "$$ver" --build "$$build" --pytest-status "$$pytest" \
		--ctest-status "$$ctest" --junit "$(REPORTS)/pytest-$*.xml" \
		--testlog "build/cmocka-$*/meson-logs/testlog.json" --seconds $$((SECONDS - start)) \
		> "$(REPORTS)/summary-$*.json"; \
	[ $$build = ok ] && [ $$pytest = ok ] && [ $$ctest = ok ]

# ---------------------------------------------------------------------------------------------
# The README's commands.

test: deps
	@if [ -z "$(strip $(PYTHONS))" ]; then \
		echo "error: no supported CPython ($(SUPPORTED_PYTHONS)) found under $(PYENV_ROOT)/versions or on PATH"; \
		exit 1; \
	fi; \
	mkdir -p $(REPORTS); rm -f $(REPORTS)/total.txt $(foreach v,$(PYTHONS),$(REPORTS)/summary-$(v).json); \
	rm -f $(SANITIZE_SUMMARY) $(REPORTS)/sanitize-$(SANITIZE_PYTHON).status; \
	start=$$SECONDS; rc=0; \
	for v in $(PYTHONS); do \
		echo; echo "=================== CPython $$v ==================="; \
		$(MAKE) test-$$v || rc=1; \
	done; \
	if [ -z "$(IN_CHROOT)$(NO_PYDANTIC_SUITE)" ]; then \
		echo; echo "=================== pydantic's test suite, copium patched (CPython $(PYDANTIC_PYTHON)) ==================="; \
		$(MAKE) test-pydantic || rc=1; \
	fi; \
	if [ -n "$(SANITIZE_SUMMARY)" ]; then \
		echo; echo "=================== CPython $(SANITIZE_PYTHON): ASan+UBSan, valgrind ==================="; \
		$(MAKE) test-sanitize || rc=1; \
		$(MAKE) test-valgrind || rc=1; \
	fi; \
	echo; echo "=================== summary ($$((SECONDS - start)) s) ==================="; \
	py="$(call find_python,$(firstword $(PYTHONS)))"; \
	"$${py:-python3}" .ci/report.py --total $(foreach v,$(PYTHONS),"$(REPORTS)/summary-$(v).json") $(SANITIZE_SUMMARY) \
		| tee $(REPORTS)/total.txt || rc=1; \
	exit $$rc

build: deps-build
	@for v in $(PYTHONS); do $(MAKE) build-$$v; done

bench: deps-build
	@$(MAKE) build-$(BENCH_PYTHON)
	@$(MAKE) plugin-numpy-$(BENCH_PYTHON)
	@"$(ROOT)/.venv-$(BENCH_PYTHON)/bin/python" benchmarks/bench.py $(BENCH_ARGS)

# ---------------------------------------------------------------------------------------------
# Memory checkers and fuzzing (.ci/sanitize), on one interpreter: copium and the example plugin
# built with ASan+UBSan into .venv-asan-3.X (with the test-only copium._faults), the whole pytest
# suite and the cmocka tests run under them; the cmocka tests under valgrind memcheck. make test
# runs both after the per-interpreter runs (NO_SANITIZE=1 leaves them out); their counts are the
# summary's "sanitize-3.X" line.

SANITIZE_PYTHON ?= 3.11
NO_SANITIZE ?=
SANITIZE_SUMMARY = $(if $(NO_SANITIZE)$(IN_CHROOT),,$(REPORTS)/summary-sanitize-$(SANITIZE_PYTHON).json)
FUZZ_EXAMPLES ?= 50000
# .ci/sanitize runs this Makefile's steps (it sees PYTEST_ARGS, exported, unchanged).
SANITIZE_ENV = WERROR=$(WERROR) PYTEST_TIMEOUT=$(or $(SANITIZE_TIMEOUT),1800)

test-sanitize: deps
	@$(SANITIZE_ENV) .ci/sanitize asan "$(call find_python,$(SANITIZE_PYTHON))"

test-valgrind: deps
	@$(SANITIZE_ENV) .ci/sanitize valgrind "$(call find_python,$(SANITIZE_PYTHON))"

# The fuzzer (tests/py/test_fuzz.py) alone under ASan+UBSan: `make fuzz` as in make test,
# `make fuzz-long` with FUZZ_EXAMPLES examples per property (about an hour at 50000).
fuzz: deps
	@$(SANITIZE_ENV) .ci/sanitize fuzz "$(call find_python,$(SANITIZE_PYTHON))"

fuzz-long: deps
	@$(SANITIZE_ENV) COPIUM_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) PYTEST_TIMEOUT=86400 \
		.ci/sanitize fuzz "$(call find_python,$(SANITIZE_PYTHON))"

# ---------------------------------------------------------------------------------------------
# Formatting (.clang-format at the top level).

format: deps-format
	@files="$(C_SOURCES)"; [ -z "$$files" ] || clang-format -i $$files
	@echo "formatted $(words $(C_SOURCES)) C files"

format-check: deps-format
	@files="$(C_SOURCES)"; [ -z "$$files" ] || clang-format --dry-run --Werror $$files
	@echo "$(words $(C_SOURCES)) C files are clang-formatted"

clean:
	rm -rf build dist builddir .hypothesis
	find . -name __pycache__ -type d -not -path './.venv-*' -prune -exec rm -rf {} +
	rm -rf subprojects/uthash-*/ subprojects/packagecache

distclean: clean
	rm -rf .venv-*

# ---------------------------------------------------------------------------------------------
# pydantic's own test suite with copy.deepcopy / copy.copy patched by copium: the sdist of
# PYDANTIC_VERSION from PyPI (its tests/), the same version's wheel and the test dependencies
# of its `dev` group (but coverage and pytest-pretty) from PyPI into .venv-pydantic-3.X, copium
# built into it, pytest run with tests/pydantic/copium_patch_plugin.py loaded first (but
# tests/test_docs.py, which reads the docs/ tree the sdist does not ship).

PYDANTIC_PYTHON ?= 3.11
PYDANTIC_TEST_PACKAGES := pytest pytest-mock pytest-examples pytest-benchmark pytest-codspeed \
	pytest-run-parallel dirty-equals faker pytz packaging jsonschema time-machine cloudpickle
PYDANTIC_PYTEST_ARGS ?= -q -p no:cacheprovider --benchmark-disable

.PHONY: test-pydantic
test-pydantic: deps-build
	@py="$(call find_python,$(PYDANTIC_PYTHON))"; venv=".venv-pydantic-$(PYDANTIC_PYTHON)"; \
	[ -n "$$py" ] || { echo "error: no CPython $(PYDANTIC_PYTHON)"; exit 1; }; \
	[ -e "$$venv" ] || { echo "==> creating $$venv"; "$$py" -m venv "$$venv"; }; \
	if ! "$$venv/bin/python" -c 'import pydantic, dirty_equals, faker, mesonpy; import sys; sys.exit(pydantic.VERSION != "$(PYDANTIC_VERSION)")' 2>/dev/null; then \
		echo "==> installing pydantic==$(PYDANTIC_VERSION) and its test dependencies into $$venv"; \
		"$$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input \
			$(foreach p,$(VENV_PACKAGES),'$(p)') --only-binary=pydantic-core \
			pydantic==$(PYDANTIC_VERSION) $(PYDANTIC_TEST_PACKAGES); \
	fi; \
	echo "==> building copium into $$venv"; \
	PATH="$(ROOT)/$$venv/bin:$$PATH" NINJA="$(ROOT)/$$venv/bin/ninja" \
	"$$venv/bin/python" -m pip install --disable-pip-version-check --no-input \
		--no-build-isolation --no-deps --force-reinstall -q \
		--config-settings=build-dir="$(ROOT)/build/pydantic-$(PYDANTIC_PYTHON)" \
		--config-settings=setup-args=-Dwerror=$(WERROR) .; \
	src="build/pydantic-src/pydantic-$(PYDANTIC_VERSION)"; \
	if [ ! -d "$$src/tests" ]; then \
		echo "==> fetching the pydantic $(PYDANTIC_VERSION) sdist (its tests)"; \
		mkdir -p build/pydantic-src; \
		"$$venv/bin/python" -m pip download -q --disable-pip-version-check --no-input \
			--no-binary :all: --no-deps -d build/pydantic-src pydantic==$(PYDANTIC_VERSION); \
		tar -xzf "build/pydantic-src/pydantic-$(PYDANTIC_VERSION).tar.gz" -C build/pydantic-src; \
	fi; \
	echo "==> pytest: pydantic $(PYDANTIC_VERSION)'s tests with copium patched"; \
	start=$$SECONDS; \
	cd "$$src" && PYTHONPATH="$(ROOT)/tests/pydantic" "$(ROOT)/$$venv/bin/python" -m pytest tests \
		-p copium_patch_plugin --ignore=tests/test_docs.py $(PYDANTIC_PYTEST_ARGS); \
	echo "pydantic's test suite took $$((SECONDS - start)) s"
