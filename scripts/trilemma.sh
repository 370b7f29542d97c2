#!/usr/bin/env bash
# trilemma.sh (`make trilemma`): trains the default models (the denoising diffusion GAN included:
# about 3,000 steps of 1-3 s each on 2 cores, the longest of them), evaluates each with `gentri eval`, runs
# the 2-D mode-coverage benchmarks, and writes docs/trilemma.md and its headline figure,
# docs/img/trilemma.png. Every figure in that file comes from this script. It is resumable: a
# model whose run finished is skipped, an interrupted one is continued from its newest checkpoint,
# and an evaluation whose record exists is not redone (delete runs/trilemma/eval/NAME.json to redo
# one).
#
# Environment: N (samples per evaluation, default 2000), N_DDPM1000 (samples for 1000-step
# ancestral sampling, default 400: four batches of 100, about 25 minutes on 2 cores; the VAE, the cGAN and DDIM-50 are
# evaluated at that N too, so the 1000-step row has same-N neighbours), N_SWEEP (samples per point
# of the DDIM sweep, default 1000), N_STEPS (samples per earlier DDPM checkpoint, default 500),
# GENTRI (the binary, default bin/gentri).
set -euo pipefail
cd "$(dirname "$0")/.."

GENTRI=${GENTRI:-bin/gentri}
N=${N:-2000}
N_DDPM1000=${N_DDPM1000:-400}
N_SWEEP=${N_SWEEP:-1000}
N_STEPS=${N_STEPS:-500}
R=runs/trilemma
EV=$R/eval
IMG=docs/img
mkdir -p "$EV" "$IMG"

# train NAME ARGS...: train into $R/NAME unless it finished; continue it if it was interrupted.
train() {
	local name=$1
	shift
	local dir=$R/$name
	if [[ -f $dir/done ]]; then
		echo "== $name: trained"
		return
	fi
	if ls "$dir"/ckpt-*.safetensors >/dev/null 2>&1; then
		local last
		last=$(ls "$dir"/ckpt-*.safetensors | sort | tail -1)
		echo "== $name: resuming $last"
		"$GENTRI" train --resume "$last" --quiet || [[ $? == 2 ]] # 2: already at train.steps
	else
		echo "== $name: training"
		rm -rf "$dir" # a run stopped before its first checkpoint has nothing to resume: start it over
		"$GENTRI" train "$@" --out "$dir" --quiet
	fi
	touch "$dir/done"
}

newest() { ls "$R/$1"/ckpt-*.safetensors | sort | tail -1; }

# evaluate NAME MODEL ARGS...: one `gentri eval --json` record (or several, for a sweep) of the
# newest checkpoint of MODEL.
evaluate() {
	local name=$1 model=$2
	shift 2
	evaluate_checkpoint "$name" "$(newest "$model")" "$@"
}

evaluate_checkpoint() { # NAME CHECKPOINT ARGS...
	local name=$1 ckpt=$2
	shift 2
	if [[ -s $EV/$name.json ]]; then
		echo "== eval $name: done"
		return
	fi
	echo "== eval $name"
	"$GENTRI" eval --checkpoint "$ckpt" --json --quiet "$@" >"$EV/$name.json.tmp"
	mv "$EV/$name.json.tmp" "$EV/$name.json"
}

train vae --model vae
train cgan --model cgan
train ddpm --model ddpm
train ddgan --model ddgan
for mix in ring8 grid25; do
	for kind in gan vae ddpm ddgan; do
		train "$mix-$kind" --config "configs/$mix-$kind.yaml"
	done
done

evaluate vae vae --n "$N"
evaluate cgan cgan --n "$N"
evaluate ddpm-ddim50 ddpm --n "$N" --sampler ddim --steps 50 --eta 0
evaluate ddpm-ddim50-guided ddpm --n "$N" --sampler ddim --steps 50 --eta 0 --guidance 2
evaluate ddpm-ddim50-guided05 ddpm --n "$N" --sampler ddim --steps 50 --eta 0 --guidance 0.5
evaluate ddpm-ddim50-uncond ddpm --n "$N" --sampler ddim --steps 50 --eta 0 --unconditional
evaluate ddpm-1000 ddpm --n "$N_DDPM1000" --sampler ddpm --steps 1000
# The fast stochastic sampler (SDE-DPM-Solver++(2M), log-SNR steps) at 10 and 20 network evaluations.
evaluate ddpm-sde10 ddpm --n "$N" --sampler dpmpp2m-sde --spacing logsnr --steps 10
evaluate ddpm-sde20 ddpm --n "$N" --sampler dpmpp2m-sde --spacing logsnr --steps 20
for m in vae cgan; do evaluate "$m-n$N_DDPM1000" "$m" --n "$N_DDPM1000"; done
evaluate "ddpm-ddim50-n$N_DDPM1000" ddpm --n "$N_DDPM1000" --sampler ddim --steps 50 --eta 0
evaluate ddpm-sweep ddpm --n "$N_SWEEP" --sampler ddim --eta 0 --sweep-steps 10,20,50,100 --sweep-plot "$IMG/ddpm-sweep.png"
# How the DDPM's quality grows with training: DDIM-50 on each earlier checkpoint the run kept.
for ckpt in $(ls "$R"/ddpm/ckpt-*.safetensors | sort | head -n -1); do
	step=$(basename "$ckpt" .safetensors)
	evaluate_checkpoint "ddpm-${step#ckpt-}" "$ckpt" --n "$N_STEPS" --sampler ddim --steps 50 --eta 0
done
evaluate ddgan ddgan --n "$N" # NFE = T (4 by default): the sampler is the model's own
for mix in ring8 grid25; do
	for kind in gan vae ddpm ddgan; do
		evaluate "$mix-$kind" "$mix-$kind" --plot "$IMG/$mix-$kind.png"
	done
done

"$GENTRI" sample --checkpoint "$(newest vae)" --n 100 --out "$IMG/vae.png" --quiet
"$GENTRI" sample --checkpoint "$(newest cgan)" --n 100 --out "$IMG/cgan.png" --quiet
"$GENTRI" sample --checkpoint "$(newest ddgan)" --n 100 --out "$IMG/ddgan.png" --quiet
"$GENTRI" sample --checkpoint "$(newest ddpm)" --n 100 --sampler ddim --steps 50 --out "$IMG/ddpm-ddim50.png" --quiet
"$GENTRI" sample --checkpoint "$(newest ddpm)" --n 100 --sampler ddim --steps 50 --guidance 2 --out "$IMG/ddpm-ddim50-guided.png" --quiet
"$GENTRI" sample --checkpoint "$(newest ddpm)" --n 100 --sampler ddim --steps 50 --unconditional --out "$IMG/ddpm-ddim50-uncond.png" --quiet
# 100 samples x 1000 steps: about 6 minutes, so only redrawn when the checkpoint is newer
[[ $IMG/ddpm-1000.png -nt $(newest ddpm) ]] ||
	"$GENTRI" sample --checkpoint "$(newest ddpm)" --n 100 --sampler ddpm --steps 1000 --out "$IMG/ddpm-1000.png" --quiet
[[ $IMG/ddpm-1000-uncond.png -nt $(newest ddpm) ]] ||
	"$GENTRI" sample --checkpoint "$(newest ddpm)" --n 100 --sampler ddpm --steps 1000 --unconditional --out "$IMG/ddpm-1000-uncond.png" --quiet

# The trilemma figure: every image model and sampler as a point, FID against seconds per 100
# samples, recall as colour. The DDIM sweep is drawn as one curve, and every ddgan*.json record in
# $EV (the denoising diffusion GAN's evaluations) joins the figure as soon as it is there.
figure=("$EV"/{vae,cgan,ddpm-ddim50,ddpm-ddim50-guided05,ddpm-ddim50-guided,ddpm-ddim50-uncond,ddpm-1000,ddpm-sweep}.json)
for f in "$EV"/ddgan*.json; do [[ -e $f ]] && figure+=("$f"); done
"$GENTRI" report --plot "$IMG/trilemma.png" "${figure[@]}"

{
	echo "# The generative learning trilemma on MNIST, measured by gentri"
	echo
	cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//')
	echo "Machine: ${cpu:-$(uname -m)}, $(nproc) cores; $("$GENTRI" env | grep -v '^mnist' | tr -s ' ' | paste -sd ';' - | sed 's/;/; /g')."
	echo "Generated by \`make trilemma\` on $(date -u +%Y-%m-%d)."
	echo
	echo "![FID against seconds per 100 samples, recall as colour](img/trilemma.png)"
	echo
	echo "Each point is one model and sampler: the time it takes to draw 100 samples across, the FID of"
	echo "its samples up (both log scales; lower is better), their recall as the colour (brighter covers"
	echo "more of the test set). The trilemma's corners are regions of the page: fast and sharp but"
	echo "narrower at the bottom left (the GAN), fast and blurry at the top left (the VAE), slow and"
	echo "covering on the right (the DDPM); the DDIM sweep's line is the DDPM trading quality for speed,"
	echo "and the denoising diffusion GAN (ddgan, where its records exist) aims at the fast, bright bottom."
	echo "Circles share one N; triangles and squares have another, named in their label: FID depends on N,"
	echo "so read each point against the dashed real-data floor of its own N."
	echo
	echo "N = $N samples per model unless the N column says otherwise (1000 ancestral DDPM steps are"
	echo "affordable for $N_DDPM1000, so the VAE, the cGAN and DDIM-50 are evaluated at that N too), against"
	echo "the 10,000 MNIST test images in the feature space of gentri's own classifier (see [metrics.md](metrics.md)"
	echo "§1). FID, precision and recall depend on N: compare rows of the same N, and each"
	echo "against the real-data floor of its N. Rows at earlier steps show how the DDPM improves with training."
	echo "The JSON records behind these tables are in [trilemma-eval/](trilemma-eval/)."
	echo
	"$GENTRI" report --targets "$EV"/*.json
	echo "Samples (one row per class where the model takes one): VAE, cGAN, the denoising diffusion GAN"
	echo "(NFE = T); DDPM with 1000 ancestral steps with and without a class; DDPM DDIM-50 without guidance,"
	echo "with guidance 2, and without a class:"
	echo
	echo "![VAE](img/vae.png) ![cGAN](img/cgan.png) ![ddgan](img/ddgan.png) ![DDPM 1000 steps](img/ddpm-1000.png) ![DDPM 1000 steps, no class](img/ddpm-1000-uncond.png)"
	echo
	echo "![DDPM DDIM-50](img/ddpm-ddim50.png) ![DDPM DDIM-50, guidance 2](img/ddpm-ddim50-guided.png) ![DDPM DDIM-50, no class](img/ddpm-ddim50-uncond.png)"
	echo
	echo "Quality against sampling time of the DDPM (DDIM, eta 0):"
	echo
	echo "![FID vs seconds](img/ddpm-sweep.png)"
	echo
	echo "2-D mixtures (samples in black over the true modes):"
	echo
	for mix in ring8 grid25; do
		echo "![$mix gan](img/$mix-gan.png) ![$mix vae](img/$mix-vae.png) ![$mix ddpm](img/$mix-ddpm.png) ![$mix ddgan](img/$mix-ddgan.png)"
	done
	if [[ -f docs/trilemma-notes.md ]]; then # the authors' reading of the figures, kept by hand
		echo
		cat docs/trilemma-notes.md
	fi
} >docs/trilemma.md.tmp
mv docs/trilemma.md.tmp docs/trilemma.md
mkdir -p docs/trilemma-eval # the records behind the tables, for `gentri report` and scripts
cp "$EV"/*.json docs/trilemma-eval/
echo "wrote docs/trilemma.md and docs/trilemma-eval/"

# The README's headline table is the main rows of the same records, spliced in between its markers.
headline=$(mktemp)
"$GENTRI" report "$EV"/{vae,cgan,ddpm-ddim50,ddpm-ddim50-guided05,ddpm-ddim50-guided,ddpm-ddim50-uncond,ddpm-1000,ddgan}.json >"$headline"
awk -v table="$headline" '
	/<!-- trilemma:end -->/ { skip = 0 }
	!skip { print }
	/<!-- trilemma:begin -->/ { while ((getline line < table) > 0) print line; skip = 1 }
' README.md >README.md.tmp && mv README.md.tmp README.md
rm -f "$headline"
echo "updated the headline table in README.md"
