# Sourced by scripts/bench.sh and scripts/scaling.sh: gives PyTorch the OpenBLAS kernels gentri runs.
#
# Debian's PyTorch links the same libopenblas for its matrix products. Where OpenBLAS falls back to
# its generic Prescott kernels on a CPU newer than its table, gentri starts again with the right
# ones (internal/nn/blas_coretype.go); PyTorch is given the same, so that a table compares the
# implementations and not a kernel choice. OPENBLAS_CORETYPE set by hand stands for both.

# share_openblas_core TEST_BINARY NAME: when OPENBLAS is 1 and OPENBLAS_CORETYPE is unset, exports
# the core type TEST_BINARY (a gentri test binary built with -tags openblas) ends up running, and
# says so prefixed by NAME. Without the binary (a PyTorch-only run) it does nothing.
share_openblas_core() {
	local bin=$1 name=$2 core
	[[ ${OPENBLAS:-} == 1 && -z ${OPENBLAS_CORETYPE:-} && -x $bin ]] || return 0
	core=$(OPENBLAS_VERBOSE=2 "$bin" -test.run '^$' 2>&1 | sed -n 's/^Core: //p' | tail -1) || core=""
	if [[ -n $core ]]; then
		export OPENBLAS_CORETYPE=$core
		echo "$name: OpenBLAS's $core kernels on both sides"
	fi
}
