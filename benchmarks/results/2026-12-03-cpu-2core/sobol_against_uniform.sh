#!/bin/bash
set -e
cd /work/main
S=.venv/bin/specgen
D=${D:-/tmp/sobol_exp}
date
$S synth --n-stars 64 --variants 10 --seed 11 --sampling uniform --out $D/uniform.h5
date
$S synth --n-stars 64 --variants 10 --seed 11 --sampling sobol --out $D/sobol.h5
date
$S synth --n-stars 32 --variants 10 --seed 2025 --out $D/test.h5
date
for seed in 1 2; do for s in uniform sobol; do
  $S train --kind factorised --profile demo --grid $D/$s.h5 --test $D/test.h5 --out $D/model_${s}_$seed --seed $seed
  date
done; done
echo DONE
